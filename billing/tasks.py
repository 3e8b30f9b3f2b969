"""Budget alerts leave by email from a worker, so a slow mail server never holds up a submission."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from tenants.models import AuditEvent, Membership, Role

from .models import Budget


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def budget_alert_send(audit_event_id: int) -> int:
    """Email the tenant's admins that a budget crossed a threshold (recorded by the audit event);
    answers how many were written to."""
    event = AuditEvent.objects.select_related("tenant").get(pk=audit_event_id)
    budget = Budget.objects.filter(pk=event.target_id).select_related("project", "api_key").first()
    data = event.data
    what = "tenant's"
    if budget and budget.project:
        what = f"project {budget.project.name!r}"
    elif budget and budget.api_key:
        what = f"API key {budget.api_key.name!r}"
    recipients = sorted(
        Membership.objects.filter(tenant=event.tenant, role=Role.ADMIN, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return 0
    month = data["period_start"][:7]
    send_mail(
        subject=f"[Atelier] {event.tenant.name}: {data['threshold_percent']}% of the {what} monthly budget for {month}",
        message=(
            f"The {what} monthly budget of {event.tenant.name} ({event.tenant.slug}) has reached "
            f"{data['threshold_percent']}% for {month}.\n\n"
            f"Budget: ${data['amount']}\n"
            f"Committed (spent and held by running jobs): ${data['committed']}\n\n"
            "Requests that would go past the budget are refused until it is raised or the month ends.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
    )
    return len(recipients)
