"""The model catalog as a tenant sees it, and the one validation entry point every surface
(REST, OpenAI-compatible, web) calls before anything is priced or queued."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from config.errors import ApplicationError
from tenants.models import Tenant

from .bedrock.request import ImageRequest, RequestInvalid, validate_request
from .models import BedrockModel, TenantModelAccess


@dataclass(frozen=True)
class ValidatedRequest:
    model: BedrockModel
    request: ImageRequest
    warnings: tuple[str, ...]


def model_list_for_tenant(*, tenant: Tenant) -> QuerySet[BedrockModel]:
    """Models the tenant may use now: enabled, allowed for it, not past end of life."""
    models = BedrockModel.objects.filter(enabled=True).exclude(end_of_life_on__lte=timezone.localdate())
    allowed = TenantModelAccess.objects.for_tenant(tenant).values("model_id")
    if allowed.exists():
        models = models.filter(pk__in=allowed)
    return models.select_related("successor").order_by("family", "model_id")


def model_get_for_tenant(*, tenant: Tenant, model_id: str) -> BedrockModel:
    """The model, or a 400 naming the `model` field: unknown, disabled, not allowed, or retired
    (with its successor named)."""
    model = BedrockModel.objects.select_related("successor").filter(model_id=model_id).first()
    if model is None or not model.enabled:
        raise _model_error(f"Unknown or unavailable model {model_id!r}.")
    if model.lifecycle() == BedrockModel.Lifecycle.END_OF_LIFE:
        successor = f" Use {model.successor.model_id} instead." if model.successor else ""
        raise _model_error(f"{model.model_id} reached end of life on {model.end_of_life_on:%Y-%m-%d}.{successor}")
    if not model_list_for_tenant(tenant=tenant).filter(pk=model.pk).exists():
        raise _model_error(f"Model {model_id!r} is not available to this tenant.")
    return model


def model_warnings(model: BedrockModel) -> list[str]:
    if model.lifecycle() != BedrockModel.Lifecycle.LEGACY:
        return []
    ending = f"; it reaches end of life on {model.end_of_life_on:%Y-%m-%d}" if model.end_of_life_on else ""
    successor = f" Consider {model.successor.model_id}." if model.successor else ""
    return [f"{model.model_id} is legacy since {model.legacy_since:%Y-%m-%d}{ending}.{successor}"]


def request_validate(*, tenant: Tenant, model_id: str, raw: dict) -> ValidatedRequest:
    """What a person asked for → a request Bedrock will accept, or HTTP 400 naming each bad field."""
    model = model_get_for_tenant(tenant=tenant, model_id=model_id)
    try:
        request = validate_request(model.spec(), raw)
    except RequestInvalid as invalid:
        raise ApplicationError("invalid_request", str(invalid), fields=invalid.fields) from None
    return ValidatedRequest(model=model, request=request, warnings=(*model_warnings(model), *request.warnings))


def _model_error(message: str) -> ApplicationError:
    return ApplicationError("invalid_model", message, fields={"model": [message]})
