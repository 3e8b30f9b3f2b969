"""Enqueue again the jobs whose message was lost (beat runs the same every minute): for after a
Redis restart without persistence, or by hand."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from generation.tasks import requeue_stalled_jobs


class Command(BaseCommand):
    help = "Enqueue again jobs not ended, untouched for a while, run by no worker and absent from the broker."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-seconds",
            type=float,
            default=settings.ATELIER_REQUEUE_STALLED_AFTER_SECONDS,
            help="Only jobs untouched this long (ATELIER_REQUEUE_STALLED_AFTER_SECONDS).",
        )

    def handle(self, *args, older_than_seconds, **options):
        if older_than_seconds < 0:
            raise CommandError("--older-than-seconds must be 0 or more.")
        requeued = requeue_stalled_jobs(older_than_seconds=older_than_seconds)
        for job_id in requeued:
            self.stdout.write(f"requeued {job_id}")
        self.stdout.write(self.style.SUCCESS(f"{len(requeued)} job(s) requeued."))
