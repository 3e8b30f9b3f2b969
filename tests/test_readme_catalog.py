"""README's model table, task matrix and image-service fields are the specs' own words: a spec
changed without regenerating the block fails here."""

from pathlib import Path

from generation.bedrock.catalog_markdown import END, START, catalog_markdown
from generation.bedrock.specs import SPECS, TOOL_SPECS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_holds_the_generated_catalog_block():
    text = README.read_text()
    assert text.count(START) == 1 and text.count(END) == 1
    block = text[text.index(START) : text.index(END) + len(END)]
    assert block == catalog_markdown(), "regenerate with: python -m generation.bedrock.catalog_markdown"


def test_the_block_names_every_model_and_every_image_service_field():
    block = catalog_markdown()
    for model_id in SPECS:
        assert f"| `{model_id}` |" in block
    assert len(TOOL_SPECS) == 13
    for spec in TOOL_SPECS:
        row = next(line for line in block.splitlines() if line.startswith(f"| {spec.name} ("))
        for param in spec.params:
            assert f"`{param.name}`" in row
