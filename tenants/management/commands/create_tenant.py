"""Create (or update) a tenant without questions: for ops, scripts and tests.

python manage.py create_tenant acme --name "Acme" --budget 500 --admin-email ada@acme.test --api-key --role admin
"""

import secrets

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.money import parse_usd
from billing.services import budget_set_tenant_monthly
from tenants import services
from tenants.models import Membership, Role, Tenant


class Command(BaseCommand):
    help = "Create a tenant (idempotent), optionally with a monthly budget, an admin user and an API key."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--budget", help="Monthly budget in USD, e.g. 500 or 125.50.")
        parser.add_argument("--admin-email", help="Make this person an admin (created with a printed password if new).")
        parser.add_argument("--admin-password", help="Password for a newly created admin (default: a random one).")
        parser.add_argument("--api-key", action="store_true", help="Create an API key and print it once.")
        parser.add_argument("--role", choices=Role.values, default=Role.CREATOR, help="Role of the API key.")
        parser.add_argument("--timezone", default=None, help="IANA time zone for monthly budgets.")

    def handle(self, *args, slug, name, budget, admin_email, admin_password, api_key, role, timezone, **options):
        try:
            budget_amount = parse_usd(budget) if budget is not None else None
        except ValueError as exc:
            raise CommandError(f"--budget: {exc}") from None
        if admin_password and not admin_email:
            raise CommandError("--admin-password needs --admin-email.")
        try:
            with transaction.atomic():
                self._apply(slug, name, budget_amount, admin_email, admin_password, api_key, role, timezone)
        except Exception as exc:
            if hasattr(exc, "message_dict"):
                details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
                raise CommandError(details) from None
            raise

    def _apply(self, slug, name, budget_amount, admin_email, admin_password, api_key, role, timezone):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            tenant = services.tenant_create(slug=slug, name=name, timezone_name=timezone or "UTC")
            self.stdout.write(f"Tenant {slug} created.")
        else:
            changes = {"name": name} | ({"timezone": timezone} if timezone else {})
            services.tenant_update(tenant=tenant, actor=None, **changes)
            self.stdout.write(f"Tenant {slug} exists; updated.")

        if budget_amount is not None:
            budget_set_tenant_monthly(tenant=tenant, amount_usd=budget_amount, actor=None)
            self.stdout.write(f"Monthly budget: ${budget_amount.normalize():f}")

        if admin_email:
            self._ensure_admin(tenant, admin_email, admin_password)

        if api_key:
            _, secret = services.api_key_create(tenant=tenant, name=f"{slug}-{role}-key", role=role, actor=None)
            self.stdout.write(f"API key: {secret}")

    def _ensure_admin(self, tenant, email, password):
        user, created = services.user_get_or_create_by_email(email=email)
        if created:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"Admin user {user.email} created with password: {password}")
        membership = Membership.objects.filter(tenant=tenant, user=user).first()
        if membership is None:
            services.membership_add(tenant=tenant, email=user.email, role=Role.ADMIN, actor=None)
        elif membership.role != Role.ADMIN:
            services.membership_change_role(membership=membership, role=Role.ADMIN, actor=None)
        self.stdout.write(f"{user.email} is an admin of {tenant.slug}.")
