"""Reading a streamed answer (server-sent events) from Django's test client."""

import json

from asgiref.sync import async_to_sync


def streamed_body(response) -> bytes:
    """The whole body of a streaming response, whether its content is a sync or an async iterator."""
    content = response.streaming_content
    if hasattr(content, "__aiter__"):

        async def collect():
            return [chunk async for chunk in content]

        return b"".join(async_to_sync(collect)())
    return b"".join(content)


def events_of(response) -> list[tuple[str, dict]]:
    """(event, data) for each server-sent event of a streamed answer."""
    events = []
    for block in streamed_body(response).decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events
