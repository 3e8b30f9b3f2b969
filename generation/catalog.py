"""The model catalog as a tenant sees it, and the one validation entry point every surface
(REST, OpenAI-compatible, web) calls before anything is priced or queued."""

from dataclasses import dataclass

from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from config.errors import ApplicationError
from tenants.models import Tenant

from .bedrock.request import ImageRequest, RequestInvalid, validate_request
from .models import BedrockModel, TenantAutoSuccessor, TenantModelAccess


@dataclass(frozen=True)
class ValidatedRequest:
    model: BedrockModel
    request: ImageRequest
    warnings: tuple[str, ...]
    substituted_from: BedrockModel | None = None  # the end-of-life model named, when a successor runs instead


def model_list_for_tenant(*, tenant: Tenant) -> QuerySet[BedrockModel]:
    """Models the tenant may use now: enabled, allowed for it, not past end of life."""
    models = BedrockModel.objects.filter(enabled=True).exclude(end_of_life_on__lte=timezone.localdate())
    allowed = TenantModelAccess.objects.for_tenant(tenant)
    # An access list names the models; without one, every model. One query either way.
    models = models.filter(~Exists(allowed) | Q(pk__in=allowed.values("model_id")))
    return models.select_related("successor").order_by("family", "model_id")


def model_get_for_tenant(*, tenant: Tenant, model_id: str) -> BedrockModel:
    """The model, or a 400 naming the `model` field: unknown, disabled, not allowed, or retired
    (with its successor named)."""
    return _usable(tenant, _named(model_id), model_id)


def model_resolve_for_tenant(*, tenant: Tenant, model_id: str) -> tuple[BedrockModel, BedrockModel | None]:
    """(the model a job runs on, the end-of-life model it replaces or None). A tenant that opted in
    to automatic successors gets the successor of a model past end of life, if it may use it;
    otherwise the same 400 as model_get_for_tenant."""
    named = _named(model_id)
    if named is None or not named.enabled or named.lifecycle() != BedrockModel.Lifecycle.END_OF_LIFE:
        return _usable(tenant, named, model_id), None
    successor = _auto_successor(tenant, named)
    if successor is None:
        return _usable(tenant, named, model_id), None
    return model_get_for_tenant(tenant=tenant, model_id=successor.model_id), named


# Every submission asks these (the model, then whether the tenant may use it): two plain queries, not the
# catalog's list filtered again, which cost a fifth of the web tier's CPU per /v1 request (bench/openai_compat.py).
def _named(model_id: str) -> BedrockModel | None:
    try:  # its successor is read only when it is named, past end of life
        return BedrockModel.objects.get(model_id=model_id)
    except BedrockModel.DoesNotExist:
        return None


def _usable(tenant: Tenant, model: BedrockModel | None, model_id: str) -> BedrockModel:
    """`model` when model_list_for_tenant holds it, else the 400 saying why not."""
    if model is not None and model_list_for_tenant(tenant=tenant).filter(pk=model.pk).exists():
        return model
    if model is None or not model.enabled:
        raise _model_error(f"Unknown or unavailable model {model_id!r}.")
    if model.lifecycle() == BedrockModel.Lifecycle.END_OF_LIFE:
        successor = f" Use {model.successor.model_id} instead." if model.successor else ""
        raise _model_error(f"{model.model_id} reached end of life on {model.end_of_life_on:%Y-%m-%d}.{successor}")
    raise _model_error(f"Model {model_id!r} is not available to this tenant.")  # not on its access list


def _auto_successor(tenant: Tenant, retired: BedrockModel) -> BedrockModel | None:
    """The tenant's rule for this model first, then its rule for every model; the rule's successor,
    else the operator's successor for the model."""
    rules = TenantAutoSuccessor.objects.for_tenant(tenant).select_related("successor")
    rule = rules.filter(model=retired).first() or rules.filter(model__isnull=True).first()
    if rule is None:
        return None
    return rule.successor or retired.successor


def model_warnings(model: BedrockModel) -> list[str]:
    if model.lifecycle() != BedrockModel.Lifecycle.LEGACY:
        return []
    ending = f"; it reaches end of life on {model.end_of_life_on:%Y-%m-%d}" if model.end_of_life_on else ""
    extended = model.extended_access_from
    if extended:
        ending += (
            f"; in public extended access since {extended:%Y-%m-%d}, at higher prices"
            if extended <= timezone.localdate()
            else f"; public extended access, at higher prices, from {extended:%Y-%m-%d}"
        )
    successor = f" Consider {model.successor.model_id}." if model.successor else ""
    return [f"{model.model_id} is legacy since {model.legacy_since:%Y-%m-%d}{ending}.{successor}"]


def request_validate(*, tenant: Tenant, model_id: str, raw: dict) -> ValidatedRequest:
    """What a person asked for → a request Bedrock will accept, or HTTP 400 naming each bad field."""
    model, substituted_from = model_resolve_for_tenant(tenant=tenant, model_id=model_id)
    try:
        request = validate_request(model.spec(), raw)
    except RequestInvalid as invalid:
        raise ApplicationError("invalid_request", str(invalid), fields=invalid.fields) from None
    substitution = (
        [
            f"{substituted_from.model_id} reached end of life on {substituted_from.end_of_life_on:%Y-%m-%d}; "
            f"this job runs on {model.model_id}, the tenant's automatic successor."
        ]
        if substituted_from
        else []
    )
    return ValidatedRequest(
        model=model,
        request=request,
        warnings=(*substitution, *model_warnings(model), *request.warnings),
        substituted_from=substituted_from,
    )


def _model_error(message: str) -> ApplicationError:
    return ApplicationError("invalid_model", message, fields={"model": [message]})
