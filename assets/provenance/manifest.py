"""C2PA manifests: the one Atelier signs into each generated image, and reading any image's manifest back with
its validation against the trust anchors.

What Atelier's manifest says: a `c2pa.created` action whose digitalSourceType is IPTC's trainedAlgorithmicMedia
and whose softwareAgent is the model id, and an `com.atelier.generation` assertion with the model, the task, the
tenant's slug, the asset's watermark id and the sha256 of the prompt (never the prompt itself).
"""

import io
import json
import uuid
from dataclasses import dataclass, field

import c2pa

from .credentials import reading_context, signing_context, signing_credentials

CREATED = "c2pa.created"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# The IPTC source types that say a model made (some of) the pixels.
AI_SOURCE_TYPES = frozenset(
    f"http://cv.iptc.org/newscodes/digitalsourcetype/{name}"
    for name in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
                 "compositeSynthetic")
)  # fmt: skip
ATELIER_ASSERTION = "com.atelier.generation"
CLAIM_GENERATOR = "Atelier"
MIME_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

TRUSTED, UNTRUSTED, INVALID, ABSENT = "trusted", "untrusted", "invalid", "absent"
# c2pa's validation_state → a check's result: "Valid" is a sound signature by a signer no trust anchor vouches for.
_STATES = {"Trusted": TRUSTED, "Valid": UNTRUSTED, "Invalid": INVALID}


def manifest_definition(
    *, model_id: str, task: str, tenant_slug: str, watermark_id: str, prompt_sha256: str | None, title: str
) -> dict:
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR}],
        "title": title,
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": CREATED,
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": model_id},
                        }
                    ]
                },
            },
            {
                "label": ATELIER_ASSERTION,
                "data": {
                    "model": model_id,
                    "task": task,
                    "tenant": tenant_slug,
                    "watermark_id": watermark_id,
                    "prompt_sha256": prompt_sha256,
                },
            },
        ],
    }


def manifest_sign(*, data: bytes, image_format: str, definition: dict) -> tuple[bytes, str]:
    """(the image with the manifest embedded, the manifest's label). `image_format` is png, jpeg or webp."""
    # Naming the manifest here (c2pa's own form of label) saves reading the signed image back to learn it.
    label = f"urn:c2pa:{uuid.uuid4()}"
    signed = io.BytesIO()
    with c2pa.Builder(definition | {"label": label}, context=signing_context()) as builder:
        builder.sign(MIME_TYPES[image_format], io.BytesIO(data), signed)
    return signed.getvalue(), label


@dataclass
class ManifestReading:
    result: str  # trusted, untrusted, invalid, absent
    label: str | None = None
    signer_name: str | None = None
    signer_issuer: str | None = None
    signer_serial: str | None = None
    actions: list[dict] = field(default_factory=list)
    atelier: dict | None = None  # the com.atelier.generation assertion, when there is one
    failures: list[str] = field(default_factory=list)  # c2pa's failure codes
    error: str | None = None

    @property
    def digital_source_types(self) -> list[str]:
        return sorted({action["digitalSourceType"] for action in self.actions if action.get("digitalSourceType")})

    @property
    def declares_ai(self) -> bool:
        return bool(AI_SOURCE_TYPES.intersection(self.digital_source_types))

    @property
    def signed_by_atelier(self) -> bool:
        """Signed with this platform's signing certificate (and therefore carrying Atelier's own claims)."""
        credentials = signing_credentials()
        return (self.signer_serial, self.signer_name) == (credentials.signer_serial, credentials.signer_name)


def manifest_read(*, data: bytes, image_format: str) -> ManifestReading:
    """Read and validate the active manifest of an image. A manifest c2pa cannot even parse is `invalid`."""
    try:
        reader = c2pa.Reader.try_create(MIME_TYPES[image_format], io.BytesIO(data), context=reading_context())
        if reader is None:
            return ManifestReading(result=ABSENT)
        with reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as error:
        return ManifestReading(result=INVALID, error=str(error)[:300])
    label = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(label, {})
    signature = manifest.get("signature_info") or {}
    assertions = {assertion.get("label"): assertion.get("data") for assertion in manifest.get("assertions", [])}
    actions = (assertions.get("c2pa.actions.v2") or assertions.get("c2pa.actions") or {}).get("actions", [])
    failures = [item.get("code") for item in store.get("validation_results", {}).get("activeManifest", {})
                .get("failure", [])]  # fmt: skip
    return ManifestReading(
        result=_STATES.get(store.get("validation_state"), INVALID),
        label=label,
        signer_name=signature.get("common_name"),
        signer_issuer=signature.get("issuer"),
        signer_serial=signature.get("cert_serial_number"),
        actions=[action for action in actions if isinstance(action, dict)],
        atelier=assertions.get(ATELIER_ASSERTION) if isinstance(assertions.get(ATELIER_ASSERTION), dict) else None,
        failures=[code for code in failures if code],
    )
