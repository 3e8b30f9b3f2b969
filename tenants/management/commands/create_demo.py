"""The demo tenant of `make run`: tenant `demo`, an admin who can sign in, and an API key.

Idempotent: the sign-in and key are kept in var/demo-credentials.json (local development only)
and printed again on every run while they still work; otherwise fresh ones are made."""

import json
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from assets.library import project_update
from assets.services import project_get_default
from billing.services import budget_set_tenant_monthly
from generation.models import BedrockModel
from tenants import services
from tenants.models import Membership, Role, Tenant
from tenants.selectors import api_key_find_usable

DEMO_SLUG = "demo"
DEMO_EMAIL = "admin@demo.local"
DEMO_BUDGET_USD = Decimal("100")


class Command(BaseCommand):
    help = "Create the demo tenant with an admin and an API key, and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args, base_url, **options):
        credentials_file = settings.VAR_DIR / "demo-credentials.json"
        saved = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}

        tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
        if tenant is None:
            tenant = services.tenant_create(slug=DEMO_SLUG, name="Demo Studio")
            budget_set_tenant_monthly(tenant=tenant, amount_usd=DEMO_BUDGET_USD, actor=None)
        project = project_get_default(tenant=tenant)
        if project.default_model_id is None:  # an Active model: Titan G1 v2 and Nova Canvas are past it
            default_model = BedrockModel.objects.filter(model_id=settings.ATELIER_DEFAULT_MODEL).first()
            project_update(project=project, actor=None, default_model=default_model)

        user, _ = services.user_get_or_create_by_email(email=DEMO_EMAIL)
        password = saved.get("password")
        if not password or not user.check_password(password):
            password = secrets.token_urlsafe(12)
            user.set_password(password)
        user.is_staff = user.is_superuser = True  # the person running `make run` operates the platform
        user.save()
        if not Membership.objects.filter(tenant=tenant, user=user).exists():
            services.membership_add(tenant=tenant, email=DEMO_EMAIL, role=Role.ADMIN, actor=None)

        api_key = saved.get("api_key")
        usable = api_key_find_usable(secret=api_key) if api_key else None
        if usable is None or usable.tenant_id != tenant.pk:
            _, api_key = services.api_key_create(tenant=tenant, name="demo key", role=Role.ADMIN, actor=None)

        credentials_file.parent.mkdir(parents=True, exist_ok=True)
        credentials_file.write_text(json.dumps({"email": DEMO_EMAIL, "password": password, "api_key": api_key}))
        credentials_file.chmod(0o600)

        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Atelier demo tenant 'demo' is ready.",
                    f"  Sign in:  {base_url}/   as {DEMO_EMAIL} / {password}   (the admin: {base_url}/admin/)",
                    f"API key: {api_key}",
                    f"  Try it:   curl -H 'Authorization: Bearer {api_key}' {base_url}/api/v1/tenants/",
                    "",
                ]
            )
        )
