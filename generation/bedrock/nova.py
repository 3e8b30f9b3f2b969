"""Nova Canvas bodies. Nova speaks Titan's shape — `taskType`, `<task>Params`,
`imageGenerationConfig` — and adds `style` to `textToImageParams`, which the shared builder
already carries; Nova's own limits (sizes, seeds, styles) live in its spec."""

from .titan import build_calls, parse_response, read_body, wire_path

__all__ = ["build_calls", "parse_response", "read_body", "wire_path"]
