"""The catalog follows Bedrock: catalog_sync reads the account's image models from the control plane
(`bedrock`, not `bedrock-runtime`) and writes each catalog row's lifecycle, inference types and
inference profiles; image models Bedrock lists that Atelier has no spec for are recorded for operators.

Wire contract, from botocore's bedrock service model (2023-04-20):
- ListFoundationModels: GET /foundation-models?byOutputModality=IMAGE → {"modelSummaries": [
  {modelId, modelName, providerName, inputModalities, outputModalities, inferenceTypesSupported,
  modelLifecycle: {status: ACTIVE|LEGACY, startOfLifeTime, legacyTime, publicExtendedAccessTime,
  endOfLifeTime}}]} (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html)
- ListInferenceProfiles: GET /inference-profiles?typeEquals=SYSTEM_DEFINED → {"inferenceProfileSummaries":
  [{inferenceProfileId, models: [{modelArn}], status, type}], "nextToken"}
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .bedrock.client import make_client
from .models import BedrockModel, UnsupportedBedrockModel

logger = logging.getLogger(__name__)

SYNCED_FIELDS = (
    "bedrock_status", "legacy_since", "extended_access_from", "end_of_life_on", "inference_types", "inference_profiles",
)  # fmt: skip


@dataclass
class SyncReport:
    changed: dict[str, dict[str, tuple]] = field(default_factory=dict)  # model id → field → (before, after)
    unsupported: list[UnsupportedBedrockModel] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # catalog rows Bedrock did not list


def control_client_from_settings():
    """boto3's `bedrock` control-plane client, at the same endpoint and region as the runtime client."""
    return make_client(
        service="bedrock", endpoint_url=settings.ATELIER_BEDROCK_ENDPOINT_URL, region=settings.ATELIER_BEDROCK_REGION
    )


def catalog_sync(*, client=None) -> SyncReport:
    """Writes what Bedrock says about each image model onto its catalog row; idempotent. Dates an
    operator set stay unless Bedrock gives its own."""
    client = client or control_client_from_settings()
    summaries = client.list_foundation_models(byOutputModality="IMAGE")["modelSummaries"]
    profiles = _system_profiles(client)
    region = client.meta.region_name
    now = timezone.now()
    report = SyncReport()
    rows = {row.model_id: row for row in BedrockModel.objects.all()}
    with transaction.atomic():
        for summary in summaries:
            model_id = summary["modelId"]
            row = rows.get(model_id)
            if row is None:
                report.unsupported.append(_record_unsupported(summary, now))
                continue
            lifecycle = summary.get("modelLifecycle") or {}
            wanted = {
                "bedrock_status": lifecycle.get("status", ""),
                "legacy_since": _day(lifecycle.get("legacyTime")) or row.legacy_since,
                "extended_access_from": _day(lifecycle.get("publicExtendedAccessTime")) or row.extended_access_from,
                "end_of_life_on": _day(lifecycle.get("endOfLifeTime")) or row.end_of_life_on,
                "inference_types": list(summary.get("inferenceTypesSupported") or []),
                "inference_profiles": {**row.inference_profiles, region: profiles.get(model_id, [])},
            }
            if wanted["bedrock_status"] == "LEGACY" and wanted["legacy_since"] is None:
                wanted["legacy_since"] = timezone.localdate()  # Legacy from today, when Bedrock gives no date
            changes = {
                name: (getattr(row, name), value) for name, value in wanted.items() if getattr(row, name) != value
            }
            for name, (_before, after) in changes.items():
                setattr(row, name, after)
            row.bedrock_seen_at = now
            row.save(update_fields=[*changes, "bedrock_seen_at", "updated_at"])
            if changes:
                report.changed[model_id] = changes
                logger.info("catalog_sync %s: %s", model_id, ", ".join(changes))
        listed = {summary["modelId"] for summary in summaries}
        report.missing = sorted(model_id for model_id in rows if model_id not in listed)
    return report


def _record_unsupported(summary: dict, now) -> UnsupportedBedrockModel:
    row, _ = UnsupportedBedrockModel.objects.update_or_create(
        model_id=summary["modelId"],
        defaults={
            "name": summary.get("modelName") or "",
            "provider": summary.get("providerName") or "",
            "bedrock_status": (summary.get("modelLifecycle") or {}).get("status", ""),
            "last_seen_at": now,
        },
    )
    return row


def _system_profiles(client) -> dict[str, list[str]]:
    """Foundation model id → the ids of the system-defined inference profiles that route to it."""
    by_model: dict[str, list[str]] = {}
    paginator = client.get_paginator("list_inference_profiles")
    for page in paginator.paginate(typeEquals="SYSTEM_DEFINED"):
        for profile in page.get("inferenceProfileSummaries", []):
            for model in profile.get("models", []):
                model_id = model.get("modelArn", "").rsplit("/", 1)[-1]
                by_model.setdefault(model_id, []).append(profile["inferenceProfileId"])
    return {model_id: sorted(ids) for model_id, ids in by_model.items()}


def _day(moment: datetime.datetime | None) -> datetime.date | None:
    """botocore parses the timestamps to aware datetimes; the catalog keeps UTC days."""
    return moment.astimezone(datetime.UTC).date() if moment else None
