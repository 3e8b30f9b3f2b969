"""Review notices leave by email from a worker, after the move has committed."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .models import Review


def _deciders(asset) -> tuple[str, list[str]]:
    """The stage the asset now waits at, and the addresses of those who may decide it."""
    from .review import approval_stages, current_stage

    stage = current_stage(asset, approval_stages(asset.project))
    members = stage.deciders(asset.tenant).filter(user__is_active=True).exclude(user__email="")
    return stage.name, sorted(members.values_list("user__email", flat=True))


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def review_notify(review_id: int) -> int:
    """Tell the people the move concerns: the deciders of the next stage when an asset waits for
    review, its creator when it was decided. Answers how many were written to."""
    review = Review.objects.select_related("asset__tenant", "asset__project", "asset__created_by").get(pk=review_id)
    asset = review.asset
    waiting = asset.status == asset.Status.IN_REVIEW
    if waiting:
        stage_name, recipients = _deciders(asset)
    else:
        stage_name, recipients = review.stage_name, [asset.created_by.email] if asset.created_by else []
    recipients = [email for email in recipients if email]
    if not recipients:
        return 0
    title = asset.title or f"image {asset.pk}"
    what = f"waits for {asset.project.name}'s review" if waiting else f"is {asset.get_status_display().lower()}"
    send_mail(
        subject=f"[Atelier] {asset.tenant.name}: {title} {what}",
        message=(
            f"{title} ({asset.project.name}) {what}.\n"
            + (f"Stage: {stage_name}\n" if stage_name else "")
            + (f"Comment: {review.comment}\n" if review.comment else "")
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    return len(recipients)
