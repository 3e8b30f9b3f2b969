"""The family of a model picks its body module; everything else calls these three functions."""

from types import ModuleType

from . import nova, stability, titan
from .request import ImageRequest
from .result import InvokeResult
from .specs import Family, ModelSpec

FAMILY_MODULES: dict[Family, ModuleType] = {Family.TITAN: titan, Family.NOVA: nova, Family.STABILITY: stability}


def build_calls(request: ImageRequest) -> list[dict]:
    """One InvokeModel body per call that together return request.n images."""
    return FAMILY_MODULES[request.family].build_calls(request)


def images_per_call(request: ImageRequest) -> int:
    return 1 if request.family is Family.STABILITY else request.n


def parse_response(family: Family, payload: dict, *, requested: int) -> InvokeResult:
    return FAMILY_MODULES[family].parse_response(payload, requested=requested)


def read_body(family: Family, body: dict, spec: ModelSpec | None = None) -> dict:
    """A wire body back into request fields. An image service's body is read by its spec's fields."""
    if spec is not None and spec.is_tool:
        return stability.read_body(body, spec)
    return FAMILY_MODULES[family].read_body(body)


def wire_path(family: Family, task, field: str, spec: ModelSpec | None = None) -> str:
    if spec is not None and spec.is_tool:
        return stability.wire_path(task, field, spec)
    return FAMILY_MODULES[family].wire_path(task, field)
