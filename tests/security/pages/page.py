from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """One studio page or form post, for the cross-tenant matrix. `path` holds {slug} and, for
    one object, {id}, which `target(tenant)`'s public id fills; `data` is the form a browser would post;
    `own_status` is what the same request answers on the caller's own tenant (200, or 302 after
    a successful post)."""

    route: str  # URL name, without the "web:" namespace
    method: str
    path: str
    own_status: int
    target: Callable | None = None
    data: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"
