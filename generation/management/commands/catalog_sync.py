"""Read the account's image models from Bedrock's ListFoundationModels (beat runs the same daily)
and write their lifecycle, inference types and inference profiles onto the catalog."""

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError

from generation.lifecycle import catalog_sync


class Command(BaseCommand):
    help = "Update the catalog's lifecycle, inference types and profiles from Bedrock's ListFoundationModels."

    def handle(self, *args, **options):
        try:
            report = catalog_sync()
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"Bedrock did not answer ListFoundationModels: {error}") from None
        for model_id, changes in report.changed.items():
            for name, (before, after) in changes.items():
                self.stdout.write(f"{model_id}: {name} {before!r} → {after!r}")
        for model_id in report.missing:
            self.stdout.write(self.style.WARNING(f"{model_id}: in the catalog, not listed by Bedrock"))
        if report.unsupported:
            self.stdout.write("Known to Bedrock, not supported:")
            for row in report.unsupported:
                self.stdout.write(f"  {row.model_id} ({row.name}, {row.provider}) {row.bedrock_status}")
        self.stdout.write(self.style.SUCCESS(f"{len(report.changed)} model(s) changed."))
