"""Prove the ledger: for every finished job, what was reserved was charged or released, to the
cent, and what was charged is what its stored images cost; and every budget's running figure for
its month is the ledger's sum. Prints what drifts and exits non-zero if anything does."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from billing.selectors import budget_drift, charge_drift, ledger_drift


class Command(BaseCommand):
    help = (
        "Check reserve = charge + release for every finished job, that each is charged its unit price for "
        "every image stored, and the budgets' running figures."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant's jobs (slug).")

    def handle(self, *args, tenant, **options):
        drifting, checked = ledger_drift(tenant_slug=tenant)
        for row in drifting:
            self.stdout.write(
                f"job {row['job_id']} ({row['tenant']}): reserved {row['reserved']:.6f}, "
                f"charged {row['charged']:.6f}, released {row['released']:.6f}, drift {row['drift']:.6f}"
            )
        misbilled, billed_checked = charge_drift(tenant_slug=tenant)
        for row in misbilled:
            charged_withheld = settings.ATELIER_CHARGE_FILTERED_IMAGES and row["withheld"]
            withheld = f" and {row['withheld']} withheld" if charged_withheld else ""
            self.stdout.write(
                f"job {row['job_id']} ({row['tenant']}): {row['images']} images made{withheld} at "
                f"{row['unit_price']:.6f}, due {row['due']:.6f}, charged {row['charged']:.6f}, drift {row['drift']:.6f}"
            )
        budgets_drifting, budgets_checked = budget_drift(tenant_slug=tenant)
        for row in budgets_drifting:
            self.stdout.write(
                f"budget {row['budget']}: running figure {row['running']:.6f}, ledger {row['ledger']:.6f} "
                f"for the month of {row['budget'].period_start:%Y-%m}"
            )
        if drifting or misbilled or budgets_drifting:
            raise CommandError(
                f"{len(drifting)} of {checked} finished jobs and {len(budgets_drifting)} of {budgets_checked} "
                f"budgets drift; {len(misbilled)} of {billed_checked} finished jobs are not charged for exactly "
                "the images they made."
            )
        self.stdout.write(
            f"{checked} finished jobs and {budgets_checked} budgets checked: the ledger balances to the cent, "
            "and each job is charged for exactly the images it made."
        )
