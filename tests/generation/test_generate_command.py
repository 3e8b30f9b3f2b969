from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from assets.models import Asset
from generation.models import GenerationJob

from ..processes import ROOT

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def generate(*args) -> str:
    out = StringIO()
    call_command("generate", *args, stdout=out)
    return out.getvalue()


def test_generate_submits_waits_and_prints_the_assets(pipeline, tenant_a):
    output = generate("--tenant", "acme", "--model", "amazon.nova-canvas-v1:0", "--prompt", "a kite without strings",
                      "--n", "2", "--size", "512x512", "--seed", "5")  # fmt: skip

    job = GenerationJob.objects.get()
    assert job.status == GenerationJob.Status.SUCCEEDED
    printed = {line for line in output.splitlines() if line.startswith("Asset ")}
    rows = Asset.objects.filter(job=job)
    assert printed == {f"Asset {a.pk} {a.width}x{a.height} {a.format} seed={a.seed}" for a in rows}
    assert len(printed) == 2 and {tuple(line.split()[2:]) for line in printed} == {("512x512", "png", "seed=5")}
    assert f"Job {job.pk} queued (2 image(s))." in output and output.rstrip().endswith("Job succeeded.")
    assert "[##############################] 2/2" in output
    assert "Warning: The prompt contains 'without'" in output


def test_generate_with_an_input_file(pipeline, tenant_a):
    photo = str(ROOT / "tests/fixtures/photos/coffee.png")
    titan = "amazon.titan-image-generator-v2:0"
    output = generate("--tenant", "acme", "--model", titan, "--task", "BACKGROUND_REMOVAL", "--image", photo)

    assert output.rstrip().endswith("Job succeeded.")
    assert Asset.objects.filter(kind=Asset.Kind.UPLOAD).count() == 1
    made = Asset.objects.get(job__task_type="BACKGROUND_REMOVAL")
    assert f"Asset {made.pk} {made.width}x{made.height} png seed=None" in output.splitlines()


def test_generate_runs_an_image_service_by_its_model_id_alone_with_its_own_fields(pipeline, tenant_a):
    photo = str(ROOT / "tests/fixtures/photos/coffee.png")
    tool = "stability.stable-image-search-replace-v1:0"
    output = generate("--tenant", "acme", "--model", tool, "--image", photo, "--prompt", "a glass of milk",
                      "--param", "search_prompt=the cup", "--param", "grow_mask=7")  # fmt: skip

    assert "Job succeeded." in output
    job = GenerationJob.objects.get()
    assert (job.task_type, job.params["search_prompt"], job.params["grow_mask"]) == ("SEARCH_REPLACE", "the cup", 7)
    source = Asset.objects.get(kind=Asset.Kind.UPLOAD)
    made = Asset.objects.get(job=job)
    assert (made.width, made.height) == (source.width, source.height)


def test_generate_names_bad_fields_and_submits_nothing(pipeline, tenant_a):
    with pytest.raises(CommandError, match="size"):
        generate("--tenant", "acme", "--model", "amazon.titan-image-generator-v2:0", "--prompt", "x",
                 "--size", "1000x1000")  # fmt: skip
    assert not GenerationJob.objects.exists()


def test_generate_fails_loudly_when_the_job_fails(pipeline, tenant_a):
    pipeline.emulator.configure(fault="access-denied")

    with pytest.raises(CommandError, match="AccessDeniedException"):
        generate("--tenant", "acme", "--model", "amazon.nova-canvas-v1:0", "--prompt", "x", "--size", "512x512")
