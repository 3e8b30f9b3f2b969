"""Prove the ledger: for every finished job, what was reserved was charged or released, to the
cent. Prints each job that drifts and exits non-zero if any does."""

from django.core.management.base import BaseCommand, CommandError

from billing.selectors import ledger_drift


class Command(BaseCommand):
    help = "Check reserve = charge + release for every finished job; print any drift."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant's jobs (slug).")

    def handle(self, *args, tenant, **options):
        drifting, checked = ledger_drift(tenant_slug=tenant)
        for row in drifting:
            self.stdout.write(
                f"job {row['job_id']} ({row['tenant']}): reserved {row['reserved']:.6f}, "
                f"charged {row['charged']:.6f}, released {row['released']:.6f}, drift {row['drift']:.6f}"
            )
        if drifting:
            raise CommandError(f"{len(drifting)} of {checked} finished jobs drift.")
        self.stdout.write(f"{checked} finished jobs checked: the ledger balances to the cent.")
