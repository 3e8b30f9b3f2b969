from dataclasses import dataclass, field


class BodyInvalid(ValueError):
    """A wire body Bedrock would refuse before looking at its values (the emulator's 400)."""


@dataclass
class InvokeResult:
    """What one InvokeModel call gave back, whatever the family."""

    images: list[bytes]
    filtered: int = 0  # images the content filter withheld
    filter_reasons: list[str] = field(default_factory=list)
    seeds: list[int | None] = field(default_factory=list)
    request_id: str | None = None
    mask: bytes | None = None  # Nova virtual try-on's `maskImage`: the region it changed (black), when asked


def expect_object(value, path: str) -> dict:
    if not isinstance(value, dict):
        raise BodyInvalid(f"Malformed input request: {path}: expected type: JSONObject, found: {type(value).__name__}")
    return value


def rename(source: dict, names: dict[str, str], path: str) -> dict:
    """Wire keys → request fields; an unexpected key is refused the way Bedrock words it."""
    extraneous = sorted(set(source) - set(names))
    if extraneous:
        raise BodyInvalid(f"Malformed input request: {path}: extraneous key [{extraneous[0]}] is not permitted")
    return {names[key]: value for key, value in source.items()}
