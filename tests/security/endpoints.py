"""Every tenant-scoped endpoint, for the cross-tenant matrix. A new endpoint joins by adding a
line here; test_every_tenant_route_is_in_the_matrix fails until it does.

`target(tenant)` makes an object of that tenant whose public id (factories.public_id: the UUID
the API shows) fills `{id}`; `body` is what a real client would send; `own_status` is what the
same call answers on the caller's own tenant, which proves that a 404 elsewhere is the wall and
not a broken endpoint."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tenants.models import Membership, Role

from ..factories import MembershipFactory, UserFactory, make_api_key, make_asset, make_job


@dataclass(frozen=True)
class Endpoint:
    route: str  # URL name
    method: str
    path: str  # with {slug} and, for one object, {id}
    own_status: int
    target: Callable | None = None
    body: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"


def a_member(tenant) -> Membership:
    return MembershipFactory(tenant=tenant, role=Role.VIEWER, user=UserFactory())


def a_project_budget(tenant):
    from billing.services import budget_set_monthly

    from ..factories import make_project

    return budget_set_monthly(tenant=tenant, project=make_project(tenant), amount_usd=Decimal("5"), actor=None)


def a_generated_asset(tenant):
    return make_asset(tenant, job=make_job(tenant), index=0, seed=1)


def an_asset_in_review(tenant):
    return make_asset(tenant, job=make_job(tenant), index=0, status="in_review", review_stage=0)


def an_approved_asset(tenant):
    return make_asset(tenant, job=make_job(tenant), index=0, status="approved")


def a_review(tenant):
    from assets.models import Review

    return Review.objects.create(asset=an_asset_in_review(tenant), decision="submitted", stage=0, stage_name="Approval")


def an_api_key(tenant):
    return make_api_key(tenant, Role.VIEWER)[0]


def a_project(tenant):
    from ..factories import make_project

    return make_project(tenant)


def a_prompt(tenant):
    from assets.library import prompt_create

    return prompt_create(tenant=tenant, actor=None, project=a_project(tenant), name="Hero", text="a {product}")


def a_seed(tenant):
    from assets.library import seed_create

    return seed_create(tenant=tenant, actor=None, project=a_project(tenant), value=42, label="Dusk")


def a_provenance_check(tenant):
    from assets.models import ProvenanceCheck

    return ProvenanceCheck.objects.create(tenant=tenant, input_sha256="0" * 64, verdict="no_evidence")


def a_small_png_base64() -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 120, 40)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


# A public address, so registering it needs no DNS; nothing is sent in the matrix (no commit).
A_WEBHOOK = {"url": "https://93.184.215.14/atelier-hooks", "events": ["job.succeeded"]}


def a_webhook(tenant):
    from tenants.webhooks import webhook_endpoint_create

    return webhook_endpoint_create(tenant=tenant, actor=None, **A_WEBHOOK).endpoint


@dataclass(frozen=True)
class WebhookDeliveryPath:
    pk: str  # fills {id} in ".../webhooks/{id}/..." with "<webhook id>/deliveries/<delivery id>"


def a_webhook_delivery(tenant):
    from tenants.webhooks import webhook_endpoint_ping

    webhook = a_webhook(tenant)
    return WebhookDeliveryPath(f"{webhook.uuid}/deliveries/{webhook_endpoint_ping(endpoint=webhook, actor=None).pk}")


A_JOB = {"model": "amazon.nova-canvas-v1:0", "prompt": "a lamp", "width": 512, "height": 512}
A_CHECK = {"image": a_small_png_base64()}

ENDPOINTS = [
    Endpoint("tenant-detail", "get", "/api/v1/tenants/{slug}/", 200),
    Endpoint("tenant-detail", "patch", "/api/v1/tenants/{slug}/", 200, body={"name": "Renamed"}),
    Endpoint("member-list", "get", "/api/v1/tenants/{slug}/members/", 200),
    Endpoint(
        "member-list", "post", "/api/v1/tenants/{slug}/members/", 201, body={"email": "x@y.test", "role": "admin"}
    ),
    Endpoint("member-detail", "get", "/api/v1/tenants/{slug}/members/{id}/", 200, a_member),
    Endpoint("member-detail", "patch", "/api/v1/tenants/{slug}/members/{id}/", 200, a_member, {"role": "admin"}),
    Endpoint("member-detail", "delete", "/api/v1/tenants/{slug}/members/{id}/", 204, a_member),
    Endpoint("api-key-list", "get", "/api/v1/tenants/{slug}/api-keys/", 200),
    Endpoint("api-key-list", "post", "/api/v1/tenants/{slug}/api-keys/", 201, body={"name": "k", "role": "admin"}),
    Endpoint("api-key-detail", "get", "/api/v1/tenants/{slug}/api-keys/{id}/", 200, an_api_key),
    Endpoint("api-key-detail", "delete", "/api/v1/tenants/{slug}/api-keys/{id}/", 204, an_api_key),
    Endpoint("bedrock-model-list", "get", "/api/v1/tenants/{slug}/models/", 200),
    Endpoint("bedrock-model-detail", "get", "/api/v1/tenants/{slug}/models/amazon.nova-canvas-v1:0/", 200),
    Endpoint("job-list", "get", "/api/v1/tenants/{slug}/jobs/", 200),
    Endpoint("job-list", "post", "/api/v1/tenants/{slug}/jobs/", 201, body=A_JOB),
    Endpoint("job-detail", "get", "/api/v1/tenants/{slug}/jobs/{id}/", 200, make_job),
    Endpoint("job-cancel", "post", "/api/v1/tenants/{slug}/jobs/{id}/cancel/", 200, make_job),
    Endpoint("asset-list", "get", "/api/v1/tenants/{slug}/assets/", 200),
    Endpoint("estimate", "post", "/api/v1/tenants/{slug}/estimate/", 200, body=A_JOB),
    Endpoint("budget-list", "get", "/api/v1/tenants/{slug}/budgets/", 200),
    Endpoint("ledger-list", "get", "/api/v1/tenants/{slug}/ledger/", 200),
    Endpoint("spend", "get", "/api/v1/tenants/{slug}/spend/?group_by=model", 200),
    Endpoint("spend-csv", "get", "/api/v1/tenants/{slug}/spend.csv", 200),
    Endpoint("budget-list", "post", "/api/v1/tenants/{slug}/budgets/", 400, body={"amount": "5"}),  # exists
    Endpoint("budget-detail", "get", "/api/v1/tenants/{slug}/budgets/{id}/", 200, a_project_budget),
    Endpoint("budget-detail", "patch", "/api/v1/tenants/{slug}/budgets/{id}/", 200, a_project_budget, {"amount": "9"}),
    Endpoint("budget-detail", "delete", "/api/v1/tenants/{slug}/budgets/{id}/", 204, a_project_budget),
    Endpoint("asset-detail", "get", "/api/v1/tenants/{slug}/assets/{id}/", 200, make_asset),
    Endpoint("asset-detail", "patch", "/api/v1/tenants/{slug}/assets/{id}/", 200, make_asset, {"title": "Hero"}),
    Endpoint("asset-detail", "put", "/api/v1/tenants/{slug}/assets/{id}/", 200, make_asset, {"tags": ["a"]}),
    Endpoint("asset-finalize", "post", "/api/v1/tenants/{slug}/assets/{id}/finalize/", 201, a_generated_asset),
    Endpoint("provenance-check-list", "get", "/api/v1/tenants/{slug}/provenance-checks/", 200),
    Endpoint("provenance-check-list", "post", "/api/v1/tenants/{slug}/provenance-checks/", 201, body=A_CHECK),
    Endpoint(
        "provenance-check-detail", "get", "/api/v1/tenants/{slug}/provenance-checks/{id}/", 200, a_provenance_check
    ),
    Endpoint("asset-submit", "post", "/api/v1/tenants/{slug}/assets/{id}/submit/", 200, a_generated_asset),
    Endpoint("asset-approve", "post", "/api/v1/tenants/{slug}/assets/{id}/approve/", 200, an_asset_in_review),
    Endpoint("asset-reject", "post", "/api/v1/tenants/{slug}/assets/{id}/reject/", 200, an_asset_in_review),
    Endpoint(
        "asset-request-changes",
        "post",
        "/api/v1/tenants/{slug}/assets/{id}/request-changes/",
        200,
        an_asset_in_review,
        {"comment": "Warmer light"},
    ),  # fmt: skip
    Endpoint("asset-archive", "post", "/api/v1/tenants/{slug}/assets/{id}/archive/", 200, an_approved_asset),
    Endpoint("asset-lineage", "get", "/api/v1/tenants/{slug}/assets/{id}/lineage/", 200, a_generated_asset),
    Endpoint("asset-bulk", "post", "/api/v1/tenants/{slug}/assets/bulk/", 400, body={"ids": [], "action": "approve"}),
    Endpoint("review-list", "get", "/api/v1/tenants/{slug}/reviews/", 200),
    Endpoint("review-detail", "get", "/api/v1/tenants/{slug}/reviews/{id}/", 200, a_review),
    Endpoint("project-list", "get", "/api/v1/tenants/{slug}/projects/", 200),
    Endpoint("project-list", "post", "/api/v1/tenants/{slug}/projects/", 201, body={"name": "Autumn"}),
    Endpoint("project-detail", "get", "/api/v1/tenants/{slug}/projects/{id}/", 200, a_project),
    Endpoint("project-detail", "patch", "/api/v1/tenants/{slug}/projects/{id}/", 200, a_project, {"name": "Renamed"}),
    Endpoint("project-archive", "post", "/api/v1/tenants/{slug}/projects/{id}/archive/", 200, a_project),
    Endpoint("project-unarchive", "post", "/api/v1/tenants/{slug}/projects/{id}/unarchive/", 200, a_project),
    Endpoint("project-approval-stages", "get", "/api/v1/tenants/{slug}/projects/{id}/approval-stages/", 200, a_project),
    Endpoint(
        "project-approval-stages",
        "put",
        "/api/v1/tenants/{slug}/projects/{id}/approval-stages/",
        200,
        a_project,
        {"stages": [{"name": "Brand"}, {"name": "Legal", "role": "admin"}]},
    ),
    Endpoint("prompt-list", "get", "/api/v1/tenants/{slug}/prompts/", 200),
    Endpoint("prompt-list", "post", "/api/v1/tenants/{slug}/prompts/", 201, body={"name": "Hero", "text": "a lamp"}),
    Endpoint("prompt-detail", "get", "/api/v1/tenants/{slug}/prompts/{id}/", 200, a_prompt),
    Endpoint("prompt-versions", "get", "/api/v1/tenants/{slug}/prompts/{id}/versions/", 200, a_prompt),
    Endpoint("prompt-versions", "post", "/api/v1/tenants/{slug}/prompts/{id}/versions/", 201, a_prompt, {"text": "b"}),
    Endpoint("seed-list", "get", "/api/v1/tenants/{slug}/seeds/", 200),
    Endpoint("seed-list", "post", "/api/v1/tenants/{slug}/seeds/", 201, body={"value": 7, "label": "Dusk"}),
    Endpoint("seed-detail", "get", "/api/v1/tenants/{slug}/seeds/{id}/", 200, a_seed),
    Endpoint("seed-detail", "patch", "/api/v1/tenants/{slug}/seeds/{id}/", 200, a_seed, {"label": "Warm dusk"}),
    Endpoint("seed-detail", "delete", "/api/v1/tenants/{slug}/seeds/{id}/", 204, a_seed),
    Endpoint("webhook-list", "get", "/api/v1/tenants/{slug}/webhooks/", 200),
    Endpoint("webhook-list", "post", "/api/v1/tenants/{slug}/webhooks/", 201, body=A_WEBHOOK),
    Endpoint("webhook-detail", "get", "/api/v1/tenants/{slug}/webhooks/{id}/", 200, a_webhook),
    Endpoint("webhook-detail", "patch", "/api/v1/tenants/{slug}/webhooks/{id}/", 200, a_webhook, {"active": False}),
    Endpoint("webhook-detail", "delete", "/api/v1/tenants/{slug}/webhooks/{id}/", 204, a_webhook),
    Endpoint("webhook-deliveries", "get", "/api/v1/tenants/{slug}/webhooks/{id}/deliveries/", 200, a_webhook),
    Endpoint("webhook-ping", "post", "/api/v1/tenants/{slug}/webhooks/{id}/ping/", 202, a_webhook),
    Endpoint("webhook-delivery", "get", "/api/v1/tenants/{slug}/webhooks/{id}/", 200, a_webhook_delivery),
    Endpoint("webhook-replay", "post", "/api/v1/tenants/{slug}/webhooks/{id}/replay/", 202, a_webhook_delivery),
]
