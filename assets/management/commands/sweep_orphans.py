"""Deletes stored objects that no Asset references: what a failed ingest transaction leaves behind
(the bytes are written before the row commits). Objects younger than the threshold are kept, so an
ingest still in flight never loses its file."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from assets import storage
from assets.models import Asset

BATCH_SIZE = 500


class Command(BaseCommand):
    help = "Delete objects under tenants/ in the file store that no Asset.file_key or thumbnail_key names."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes", type=int, default=60, help="Only objects last written this long ago (60)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what would be deleted; delete nothing.")

    def handle(self, *args, older_than_minutes, dry_run, **options):
        if older_than_minutes < 0:
            raise CommandError("--older-than-minutes must be 0 or more.")
        cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
        verb = "would delete" if dry_run else "deleted"
        count = 0
        try:
            batch: list[str] = []
            for key in storage.iter_keys(storage.TENANTS_PREFIX):
                batch.append(key)
                if len(batch) >= BATCH_SIZE:
                    count += self._sweep(batch, cutoff, dry_run, verb)
                    batch = []
            count += self._sweep(batch, cutoff, dry_run, verb)
        except storage.StorageUnavailable as exc:
            raise CommandError(f"{exc} ({count} objects {verb} before the error).") from exc
        if dry_run:
            summary = f"{count} orphaned object(s) would be deleted (dry run)."
        else:
            summary = f"{count} orphaned object(s) deleted."
        self.stdout.write(self.style.SUCCESS(summary))

    def _sweep(self, keys: list[str], cutoff, dry_run: bool, verb: str) -> int:
        if not keys:
            return 0
        # Across all tenants on purpose: an object any row still names must never be deleted.
        referenced = set()
        for file_key, thumb_key in Asset.objects.filter(Q(file_key__in=keys) | Q(thumbnail_key__in=keys)).values_list(
            "file_key", "thumbnail_key"
        ):
            referenced.update((file_key, thumb_key))
        count = 0
        for key in keys:
            if key in referenced:
                continue
            try:
                if storage.object_modified_at(key) > cutoff:
                    continue
            except FileNotFoundError:  # deleted since it was listed
                continue
            if not dry_run:
                storage.delete_object(key)
            self.stdout.write(f"{verb} {key}")
            count += 1
        return count
