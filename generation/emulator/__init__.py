"""A local stand-in for Amazon Bedrock's InvokeModel for image models: same wire contract, same
validation, deterministic images that keep each task's meaning, and faults on demand. Needs no
Django: `python -m generation.emulator --port 8900`."""
