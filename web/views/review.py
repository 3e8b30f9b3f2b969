"""The review queue: for approvers, one image at a time, longest waiting first, among those they may
decide now (assets.selectors.review_queue follows each project's stages and the four-eyes rule).
Deciding moves on to the next one. The decision itself is assets.review's."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from assets import review
from assets.models import Asset
from assets.selectors import review_queue
from billing.selectors import job_cost
from config.errors import ApplicationError
from tenants.models import Role

from .assets import COMMENT_MAX, job_parameters
from .base import TenantPage

DECISIONS = {
    "approve": ("approve", "Approved"),
    "reject": ("reject", "Rejected"),
    "request_changes": ("request-changes", "Sent back for changes:"),
}


def _queue_url(tenant_slug: str, at=None) -> str:
    url = reverse("web:review_queue", args=[tenant_slug])
    return f"{url}?at={at}" if at else url


class ReviewQueue(TenantPage):
    template_name = "web/review/queue.html"
    minimum_role = Role.APPROVER
    nav = "review"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queue = review_queue(tenant=self.tenant, actor=self.actor)
        ids = [str(pk) for pk in queue.values_list("pk", flat=True)]
        at = self.request.GET.get("at", "")
        position = ids.index(at) if at in ids else 0
        if at and at not in ids and ids:
            messages.info(self.request, "That image is no longer waiting for you; here is the next one.")
        asset = queue.get(pk=ids[position]) if ids else None
        context.update(total=len(ids), position=position + 1, asset=asset, comment_max=COMMENT_MAX)
        if asset is not None:
            stages = review.approval_stages(asset.project)
            job = asset.job
            context.update(
                previous_id=ids[position - 1] if position > 0 else None,
                next_id=ids[position + 1] if position + 1 < len(ids) else None,
                stage=stages[min(asset.review_stage or 0, len(stages) - 1)],
                stage_count=len(stages),
                parameters=job_parameters(job),
                cost=job_cost(job.parent if job.parent_id else job) if job else None,
                moves=review.asset_moves(tenant=self.tenant, asset=asset, actor=self.actor),
                history=asset.reviews.select_related("reviewer", "reviewer_key").order_by("-at", "-id")[:10],
                parents=asset.parents.select_related("tenant").all()[:6],
            )
        return context


class ReviewDecide(TenantPage):
    """approve / reject / request_changes with a comment, then the next image in the queue."""

    minimum_role = Role.APPROVER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        asset = get_object_or_404(Asset.objects.for_tenant(self.tenant), pk=self.kwargs["pk"])
        decision = DECISIONS.get(request.POST.get("decision", ""))
        if decision is None:
            messages.error(request, "Choose approve, reject or request changes.")
            return redirect(_queue_url(self.tenant.slug, asset.pk))
        ids = [str(pk) for pk in review_queue(tenant=self.tenant, actor=self.actor).values_list("pk", flat=True)]
        following = ids[ids.index(str(asset.pk)) + 1] if str(asset.pk) in ids[:-1] else None
        move, done = decision
        try:
            review.TRANSITIONS[move](
                tenant=self.tenant, asset_id=asset.pk, actor=self.actor, comment=request.POST.get("comment", "")
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect(_queue_url(self.tenant.slug, asset.pk))
        messages.success(request, f"{done} {asset.title or 'image ' + str(asset.pk)[:8]}.")
        return redirect(_queue_url(self.tenant.slug, following))


urlpatterns = [
    path("review/", ReviewQueue.as_view(), name="review_queue"),
    path("review/<uuid:pk>/decide/", ReviewDecide.as_view(), name="review_decide"),
]
