"""Provenance you can prove, on real parts (the watermark, c2pa, imagehash, PostgreSQL, the filesystem storage):
every generated image is marked, signed and hashed at ingest, and a check traces an image — itself, re-encoded,
resized, stripped, tampered with, or someone else's — to the right verdict without ever naming another tenant's
asset. Images are the emulator's own renders, ingested through asset_ingest; the pipeline end to end is in
test_provenance_pipeline.py."""

import hashlib
import io
import json
from pathlib import Path

import c2pa
import imagehash
import numpy as np
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from PIL import Image

from assets import storage
from assets.models import Asset, ProvenanceCheck
from assets.provenance import credentials, fingerprints, marks
from assets.provenance.checks import provenance_check_run
from assets.provenance.manifest import MIME_TYPES, TRAINED_ALGORITHMIC_MEDIA, manifest_read
from assets.services import asset_store_upload, project_get_default
from generation import watermark
from generation.bedrock.images import read_image
from generation.emulator.render import WATERMARK_PREFIX
from tenants.models import AuditEvent

from ..factories import make_asset, make_job
from .provenance_helpers import (
    NOVA,
    PHOTOS,
    PROMPT,
    STABILITY,
    check,
    detector,
    emulator_image,
    encoded,
    ingest,
    jpeg_q85,
    opened,
    psnr,
    resized_90_percent_and_back,
    results,
    stored,
    use_local_storage,
    with_one_pixel_byte_changed,
    without_c2pa,
)  # fmt: skip

pytestmark = pytest.mark.django_db

Verdict = ProvenanceCheck.Verdict


@pytest.fixture(autouse=True)
def local_storage(settings, tmp_path):
    use_local_storage(settings, tmp_path)


# --- the two marks --------------------------------------------------------------------------------


def test_atelier_mark_coexists_with_the_emulator_mark_and_neither_reads_the_other():
    original = opened(emulator_image())
    emulator_payload = watermark.detect(original)
    marked = marks.mark(original, "0123456789abcdef")

    assert emulator_payload.startswith(WATERMARK_PREFIX)
    assert marks.read(marked) == "0123456789abcdef"
    assert watermark.detect(marked) == emulator_payload  # the emulator's mark, still there
    assert marks.read(opened(jpeg_q85(encoded(marked)))) == "0123456789abcdef"
    assert watermark.detect(opened(jpeg_q85(encoded(marked)))) == emulator_payload
    assert marks.read(original) is None  # Atelier's key does not read the emulator's mark
    assert watermark.detect(marked, key=marks.KEY) is None and watermark.detect(marked, carrier=marks.CARRIER) is None
    assert psnr(original, marked) >= 40


def test_the_watermark_defaults_are_the_emulators_and_a_dc_carrier_is_refused():
    photo = opened((PHOTOS / "astronaut.png").read_bytes())
    payload = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    by_default = watermark.embed(photo, payload)
    spelled_out = watermark.embed(photo, payload, key=watermark.DITHER_SEED, carrier=watermark.CARRIER_COEFFICIENT)

    assert by_default.tobytes() == spelled_out.tobytes()
    with pytest.raises(ValueError):
        watermark.embed(photo, payload, carrier=(0, 0))
    with pytest.raises(ValueError):
        watermark.detect(photo, carrier=(4, 1))


# --- ingest -------------------------------------------------------------------------------------


def test_a_generated_image_is_stored_marked_signed_and_hashed(tenant_a):
    original = emulator_image()

    asset = ingest(tenant_a, original)

    data = stored(asset)
    image = opened(data)
    assert hashlib.sha256(data).hexdigest() == asset.sha256 and asset.bytes == len(data)
    assert asset.file_key == f"tenants/{tenant_a.uuid}/{asset.sha256[:2]}/{asset.sha256}.png"
    assert len(asset.watermark_id) == 16 and marks.read(image) == asset.watermark_id
    assert watermark.detect(image) == watermark.detect(opened(original))  # the model's mark survives ours
    assert asset.phash == fingerprints.phash(image)
    assert (image.format, image.size, asset.format) == ("PNG", (512, 512), "png")
    assert image.info["atelier:emulator"] == "true"  # the PNG's own metadata is kept
    assert psnr(opened(original), image) >= 38
    assert storage.read_object(asset.thumbnail_key) == storage.make_thumbnail(data)  # made from the final image


def test_the_manifest_is_trusted_and_says_created_by_which_model_for_whom_with_the_prompts_hash(tenant_a):
    asset = ingest(tenant_a, emulator_image())
    data = stored(asset)
    prompt_sha256 = hashlib.sha256(PROMPT.encode()).hexdigest()

    reading = manifest_read(data=data, image_format="png")

    assert reading.result == "trusted" and reading.signed_by_atelier and reading.failures == []
    assert reading.actions == [
        {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, "softwareAgent": {"name": NOVA}}
    ]
    assert reading.atelier == {
        "model": NOVA, "task": "TEXT_IMAGE", "tenant": "acme", "watermark_id": asset.watermark_id,
        "prompt_sha256": prompt_sha256,
    }  # fmt: skip
    assert PROMPT.encode() not in data
    assert asset.provenance | {"signer_serial": None} == {
        "watermark_id": asset.watermark_id, "watermark_scheme": marks.SCHEME, "manifest_label": reading.label,
        "manifest_action": "c2pa.created", "manifest_assertion": "com.atelier.generation",
        "signer": credentials.signing_credentials().signer, "signer_serial": None, "development_signer": True,
        "digital_source_type": TRAINED_ALGORITHMIC_MEDIA, "model": NOVA, "prompt_sha256": prompt_sha256,
    }  # fmt: skip


def test_a_stability_jpeg_stays_jpeg_and_gets_atelier_mark_and_manifest(tenant_a):
    original = emulator_image(STABILITY, aspect_ratio="1:1", output_format="jpeg")

    asset = ingest(tenant_a, original, model=STABILITY)

    data = stored(asset)
    image = opened(data)
    assert (image.format, asset.format, asset.file_key.rsplit(".", 1)[1]) == ("JPEG", "jpeg", "jpeg")
    assert marks.read(image) == asset.watermark_id
    reading = manifest_read(data=data, image_format="jpeg")
    assert reading.result == "trusted" and reading.atelier["model"] == STABILITY
    assert asset.phash == fingerprints.phash(image)
    assert hashlib.sha256(data).hexdigest() == asset.sha256


def test_a_retried_ingest_returns_the_same_asset_and_stores_nothing_new(tenant_a, settings):
    job = make_job(tenant_a)
    data = emulator_image()
    first = ingest(tenant_a, data, job=job)
    files = sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())

    again = ingest(tenant_a, data, job=job)

    assert again.pk == first.pk and Asset.objects.filter(job=job).count() == 1
    assert sorted(path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()) == files
    assert first.watermark_id == marks.watermark_id_for(job_id=job.pk, index=0)


def test_a_watermark_id_held_by_another_asset_is_not_reused(tenant_a, tenant_b):
    job = make_job(tenant_a)
    taken = marks.watermark_id_for(job_id=job.pk, index=0)
    make_asset(tenant_b, watermark_id=taken, sha256="cd" * 32)

    asset = ingest(tenant_a, emulator_image(), job=job)

    assert asset.watermark_id == marks.watermark_id_for(job_id=job.pk, index=0, attempt=1) != taken
    assert marks.read(opened(stored(asset))) == asset.watermark_id


def test_an_upload_gets_its_sha256_and_phash_and_nothing_else(tenant_a):
    photo = (PHOTOS / "coffee.png").read_bytes()

    upload = asset_store_upload(tenant=tenant_a, project=project_get_default(tenant=tenant_a), image=read_image(photo))

    assert stored(upload) == photo  # the user's bytes, untouched
    assert upload.sha256 == hashlib.sha256(photo).hexdigest()
    assert upload.phash == fingerprints.phash(opened(photo))
    assert (upload.watermark_id, upload.provenance) == (None, {})


def test_the_perceptual_hash_is_imagehashs_phash_to_within_two_bits():
    """fingerprints.phash shrinks the image in two steps, which is faster; a hash stored before (imagehash's phash,
    one Lanczos over the whole image) still matches its image: the same, or one coefficient across the median."""
    photos = [opened((PHOTOS / name).read_bytes()) for name in ("coffee.png", "chelsea.png", "astronaut.png",
                                                                "rocket.jpg", "logo.png")]  # fmt: skip
    images = photos + [photo.resize((1024, 1024), Image.Resampling.LANCZOS) for photo in photos[:3]]
    images += [opened(emulator_image(seed=seed, width=1024, height=1024)) for seed in (1, 2, 3)]

    distances = [imagehash.hex_to_hash(fingerprints.phash(image)) - imagehash.phash(image) for image in images]

    assert max(distances) <= 2 < fingerprints.PHASH_MAX_DISTANCE
    assert distances.count(0) >= len(images) - 2, distances


# --- checks -------------------------------------------------------------------------------------


@pytest.fixture
def generated(tenant_a):
    return ingest(tenant_a, emulator_image(seed=11))


def test_the_asset_itself_is_an_atelier_asset_proven_every_way(tenant_a, generated):
    result = check(tenant_a, stored(generated))

    assert (result.verdict, result.asset) == (Verdict.ATELIER_ASSET, generated)
    assert results(result) == {
        "exact_hash": "match", "perceptual_hash": "match", "atelier_watermark": "match", "c2pa": "trusted",
        "bedrock_watermark": "detected",
    }  # fmt: skip
    assert detector(result, "c2pa")["confidence"] == 1.0 and detector(result, "c2pa")["details"]["asset"] == str(
        generated.pk
    )
    assert detector(result, "atelier_watermark")["details"]["watermark_id"] == generated.watermark_id
    assert result.input_sha256 == generated.sha256
    assert all(0 <= item["confidence"] <= 1 for item in result.detectors)


def test_a_jpeg_q85_copy_is_traced_by_watermark_and_perceptual_hash(tenant_a, generated):
    result = check(tenant_a, jpeg_q85(stored(generated)))

    assert (result.verdict, result.asset) == (Verdict.ATELIER_ASSET, generated)
    assert results(result) | {"bedrock_watermark": None} == {
        "exact_hash": "no_match", "perceptual_hash": "match", "atelier_watermark": "match", "c2pa": "absent",
        "bedrock_watermark": None,
    }  # fmt: skip


def test_a_copy_resized_to_90_percent_and_back_is_traced(tenant_a, generated):
    result = check(tenant_a, resized_90_percent_and_back(stored(generated)))

    assert (result.verdict, result.asset) == (Verdict.ATELIER_ASSET, generated)
    assert results(result)["atelier_watermark"] == "match" and results(result)["perceptual_hash"] == "match"
    assert detector(result, "perceptual_hash")["details"]["distance"] <= 4


def test_a_copy_without_its_manifest_is_traced_by_the_watermark(tenant_a, generated):
    stripped = without_c2pa(stored(generated))
    assert np.array_equal(np.asarray(opened(stripped)), np.asarray(opened(stored(generated))))

    result = check(tenant_a, stripped)

    assert (result.verdict, result.asset) == (Verdict.ATELIER_ASSET, generated)
    assert results(result)["c2pa"] == "absent" and results(result)["atelier_watermark"] == "match"


def test_one_changed_pixel_byte_invalidates_the_manifest(tenant_a, generated):
    tampered = with_one_pixel_byte_changed(stored(generated))
    difference = np.asarray(opened(tampered), dtype=np.int16) - np.asarray(opened(stored(generated)), dtype=np.int16)
    assert np.count_nonzero(difference) == 1

    result = check(tenant_a, tampered)

    assert results(result)["c2pa"] == "invalid"
    assert "assertion.dataHash.mismatch" in detector(result, "c2pa")["details"]["failures"]
    assert "asset" not in detector(result, "c2pa")["details"]  # a broken manifest vouches for nothing
    assert (result.verdict, result.asset) == (Verdict.ATELIER_ASSET, generated)  # the watermark still does


def test_an_unrelated_photo_has_no_evidence(tenant_a, generated):
    result = check(tenant_a, (PHOTOS / "chelsea.png").read_bytes())

    assert (result.verdict, result.asset) == (Verdict.NO_EVIDENCE, None)
    assert results(result) == {
        "exact_hash": "no_match", "perceptual_hash": "no_match", "atelier_watermark": "absent", "c2pa": "absent",
        "bedrock_watermark": "absent",
    }  # fmt: skip
    assert all(item["confidence"] == 0 for item in result.detectors)


def test_an_emulator_image_atelier_never_stored_is_ai_generated(tenant_a, generated):
    result = check(tenant_a, emulator_image(seed=99))

    assert (result.verdict, result.asset) == (Verdict.AI_GENERATED, None)
    assert results(result)["bedrock_watermark"] == "detected"
    assert detector(result, "bedrock_watermark")["details"]["provider"] == "emulator"
    assert results(result)["atelier_watermark"] == "absent" and results(result)["c2pa"] == "absent"


def test_with_the_bedrock_detector_off_an_emulator_image_has_no_evidence(tenant_a, settings):
    settings.ATELIER_BEDROCK_WATERMARK_DETECTOR = "off"

    result = check(tenant_a, emulator_image(seed=98))

    assert result.verdict == Verdict.NO_EVIDENCE
    assert detector(result, "bedrock_watermark") == {
        "name": "bedrock_watermark", "result": "disabled", "confidence": 0.0, "details": {}
    }  # fmt: skip


class FoundEverywhere:
    """A stand-in for a real Bedrock detector service, plugged in by its dotted path."""

    name = "always"

    def detect(self, *, data, image):
        return {"score": 0.97}


def test_a_bedrock_detector_plugs_in_by_dotted_path(tenant_a, settings):
    settings.ATELIER_BEDROCK_WATERMARK_DETECTOR = f"{__name__}.FoundEverywhere"

    result = check(tenant_a, (PHOTOS / "chelsea.png").read_bytes())

    assert detector(result, "bedrock_watermark")["details"] == {"provider": "always", "score": 0.97}
    assert result.verdict == Verdict.AI_GENERATED


def test_another_tenants_asset_is_never_named(tenant_a, tenant_b, generated):
    data = stored(generated)

    for variant in (data, jpeg_q85(data), without_c2pa(data)):
        result = check(tenant_b, variant)

        assert result.verdict == Verdict.AI_GENERATED and result.asset is None
        assert str(generated.pk) not in json.dumps(result.detectors)
        assert generated.watermark_id not in json.dumps(result.detectors)
        assert results(result)["atelier_watermark"] == "unresolved"
    assert results(check(tenant_b, data))["c2pa"] == "trusted"
    assert detector(check(tenant_b, data), "c2pa")["details"]["signed_by_atelier"] is True


def test_a_manifest_from_elsewhere_declaring_ai_is_ai_generated_and_untrusted(tenant_a, generated):
    # Another platform's signer, issued by a CA our trust anchors do not hold.
    root, root_key = credentials._make_root()
    signer_certificate, signer_key = credentials._make_signer(root, root_key)
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo("es256", credentials._pem(signer_certificate), credentials._key_pem(signer_key), None)
    )
    context = c2pa.Context.from_dict(credentials.SIGNING_SETTINGS, signer=signer)
    definition = {
        "claim_generator_info": [{"name": "Elsewhere"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]}}],
    }  # fmt: skip
    signed = io.BytesIO()
    with c2pa.Builder(definition, context=context) as builder:
        builder.sign(MIME_TYPES["png"], io.BytesIO((PHOTOS / "chelsea.png").read_bytes()), signed)

    result = check(tenant_a, signed.getvalue())

    assert (result.verdict, result.asset) == (Verdict.AI_GENERATED, None)
    assert results(result)["c2pa"] == "untrusted"
    details = detector(result, "c2pa")["details"]
    assert details["signed_by_atelier"] is False and details["digital_source_types"] == [TRAINED_ALGORITHMIC_MEDIA]
    assert "signingCredential.untrusted" in details["failures"]


def test_a_traced_asset_comes_with_its_lineage(tenant_a, generated):
    child = ingest(tenant_a, emulator_image(seed=12), finalizes=generated)

    result = check(tenant_a, stored(generated))

    assert result.asset == generated
    assert list(child.parents.all()) == [generated] and list(generated.children.all()) == [child]


def test_checking_an_asset_by_id_runs_every_detector_on_its_stored_bytes(tenant_a, generated):
    result = provenance_check_run(tenant=tenant_a, actor=None, asset=generated)

    assert (result.verdict, result.asset, result.input_asset) == (Verdict.ATELIER_ASSET, generated, generated)
    assert result.input_sha256 == generated.sha256
    assert AuditEvent.objects.filter(tenant=tenant_a, verb="provenance.checked", target_id=str(result.pk)).exists()


# --- credentials --------------------------------------------------------------------------------


def test_the_development_signing_certificate_is_what_c2pa_requires(tmp_path):
    signer_pem, key_pem, root_pem = credentials.development_credentials(tmp_path / "c2pa")
    signer = x509.load_pem_x509_certificate(signer_pem)
    root = x509.load_pem_x509_certificate(root_pem)

    assert signer.extensions.get_extension_for_class(x509.KeyUsage).critical
    assert signer.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usages = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in usages and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usages
    signer.verify_directly_issued_by(root)
    assert credentials.development_credentials(tmp_path / "c2pa") == (signer_pem, key_pem, root_pem)  # made once
    assert oct((tmp_path / "c2pa" / "dev-signer.key").stat().st_mode & 0o777) == "0o600"


def test_production_credentials_come_from_the_configured_paths(tenant_a, settings, tmp_path):
    root, root_key = credentials._make_root()
    signer_certificate, signer_key = credentials._make_signer(root, root_key)
    (tmp_path / "chain.pem").write_bytes(credentials._pem(signer_certificate))
    (tmp_path / "key.pem").write_bytes(credentials._key_pem(signer_key))
    (tmp_path / "anchors.pem").write_bytes(credentials._pem(root))
    settings.ATELIER_C2PA_CERT_PATH = str(tmp_path / "chain.pem")
    settings.ATELIER_C2PA_KEY_PATH = str(tmp_path / "key.pem")
    settings.ATELIER_C2PA_TRUST_ANCHORS_PATH = str(tmp_path / "anchors.pem")

    asset = ingest(tenant_a, emulator_image(seed=21))

    reading = manifest_read(data=stored(asset), image_format="png")
    assert reading.result == "trusted" and reading.signed_by_atelier
    assert reading.signer_serial == str(signer_certificate.serial_number)
    assert asset.provenance["development_signer"] is False
