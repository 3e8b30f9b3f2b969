"""Home: the month's budget, jobs running, assets waiting for my review, recent spend."""

import datetime
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.urls import path, reverse
from django.utils import timezone

from assets.models import Asset
from assets.selectors import review_queue
from billing.models import LedgerEntry
from billing.selectors import budget_month, spend_report
from generation.models import GenerationJob
from tenants.models import Role

from .base import TenantPage

GAUGE_NEAR_PERCENT = 80
RUNNING_SHOWN = 8
REVIEW_SHOWN = 6
REVIEW_SCANNED = 500  # an approver's count stops here: "500+" is enough to know the queue is long
RECENT_DAYS = 7
RECENT_CHARGES = 6


def studio_path(name: str, slug: str, *args) -> str:
    """A studio page's URL in the tenant, by its name."""
    return reverse(f"web:{name}", args=[slug, *args])


def gauge_state(percent) -> str:
    """The gauge's colour: `over` at or past the limit, `near` from GAUGE_NEAR_PERCENT, else plain."""
    if percent is None:
        return ""
    if percent >= 100:
        return "over"
    return "near" if percent >= GAUGE_NEAR_PERCENT else ""


def awaiting_decision(*, tenant, actor: AbstractBaseUser) -> tuple[list[Asset], int]:
    """The review queue's first assets (those this person may decide, the longest waiting first) and how many
    there are, counted up to REVIEW_SCANNED."""
    queue = review_queue(tenant=tenant, actor=actor)
    return list(queue[:REVIEW_SHOWN]), queue[:REVIEW_SCANNED].count()


class HomePage(TenantPage):
    template_name = "web/home.html"
    nav = "home"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        tenant, slug = self.tenant, self.tenant.slug
        month = budget_month(tenant=tenant)
        context["month"] = month | {"state": gauge_state(month["percent"]), "bar": min(month["percent"] or 0, 100)}

        active = (
            GenerationJob.objects.for_tenant(tenant)
            .exclude(status__in=GenerationJob.TERMINAL)
            .filter(parent__isnull=True)  # a batch shows once, as its parent
            .select_related("model", "project", "requested_by_user")
            .order_by("-created_at")
        )
        running = list(active[:RUNNING_SHOWN])
        for job in running:
            job.link = studio_path("job", slug, job.pk)
        context.update(running_jobs=running, running_count=active.count(), jobs_link=studio_path("jobs", slug))

        context["review_link"] = studio_path("review_queue", slug)
        if self.can(Role.APPROVER):
            waiting, waiting_count = awaiting_decision(tenant=tenant, actor=self.actor)
            context.update(review_mode="approver")
        elif self.can(Role.CREATOR):
            mine = (
                Asset.objects.for_tenant(tenant)
                .filter(created_by=self.actor, status__in=[Asset.Status.IN_REVIEW, Asset.Status.CHANGES_REQUESTED])
                .select_related("project", "tenant")
                .order_by("-updated_at", "pk")
            )
            waiting, waiting_count = list(mine[:REVIEW_SHOWN]), mine.count()
            context.update(review_mode="creator")
        else:
            waiting, waiting_count = [], 0
            context.update(review_mode="viewer")
        for asset in waiting:
            asset.link = studio_path("asset", slug, asset.pk)
        context.update(waiting=waiting, waiting_count=waiting_count, waiting_capped=waiting_count >= REVIEW_SCANNED)

        context["recent"] = self._recent_spend()
        charges = (
            LedgerEntry.objects.for_tenant(tenant)
            .filter(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.ADJUST])
            .select_related("job", "job__model", "project")
            .order_by("-created_at", "-id")[:RECENT_CHARGES]
        )
        recent_charges = list(charges)
        for entry in recent_charges:
            entry.job_link = studio_path("job", slug, entry.job_id) if entry.job_id else ""
        context["recent_charges"] = recent_charges
        return context

    def _recent_spend(self) -> dict:
        """The last RECENT_DAYS days of the tenant's calendar, today included: each day's spend and the total."""
        zone = zoneinfo.ZoneInfo(self.tenant.timezone)
        today = timezone.localtime(timezone.now(), zone).date()
        first = today - datetime.timedelta(days=RECENT_DAYS - 1)
        report = spend_report(
            tenant=self.tenant,
            group_by="day",
            start=datetime.datetime.combine(first, datetime.time(), zone),
            end=datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(), zone),
        )
        by_day = {row["key"]: row["spent"] for row in report["rows"]}
        days = [first + datetime.timedelta(days=offset) for offset in range(RECENT_DAYS)]
        rows = [{"day": day, "spent": by_day.get(day.isoformat(), 0)} for day in days]
        peak = max((row["spent"] for row in rows), default=0) or 1
        for row in rows:
            row["bar"] = int(row["spent"] * 100 / peak)
        return {"total": report["total"], "days": rows, "first": first, "today": today}


urlpatterns = [
    path("", HomePage.as_view(), name="home"),
]
