import factory
from django.contrib.auth import get_user_model

from tenants import services
from tenants.models import Membership, Role, Tenant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    username = factory.SelfAttribute("email")
    password = factory.django.Password("correct horse battery staple")


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda t: f"Tenant {t.slug}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.VIEWER


def make_api_key(tenant: Tenant, role: str = Role.CREATOR, **kwargs) -> tuple:
    """A real key made by the service: (ApiKey row, secret)."""
    return services.api_key_create(
        tenant=tenant, name=kwargs.pop("name", f"{role} key"), role=role, actor=None, **kwargs
    )


def make_project(tenant, **fields):
    from assets.models import Project

    return Project.objects.create(tenant=tenant, name=fields.pop("name", "Spring"), slug=fields.pop("slug", "spring"))


def make_job(tenant, **fields):
    """A queued job row, as job_submit would have made it (without enqueueing anything)."""
    from assets.services import project_get_default
    from generation.models import BedrockModel, GenerationJob

    defaults = {
        "project": project_get_default(tenant=tenant),
        "model": BedrockModel.objects.get(model_id="amazon.nova-canvas-v1:0"),
        "task_type": "TEXT_IMAGE",
        "params": {"prompt": "a lamp", "task": "TEXT_IMAGE", "n": 1, "seed": 1},
        "seed": 1,
        "n": 1,
        "width": 512,
        "height": 512,
        "images_requested": 1,
        "fingerprint": "0" * 64,
    }
    return GenerationJob.objects.create(tenant=tenant, **(defaults | fields))


def make_asset(tenant, **fields):
    """An asset row (its bytes are not stored: for tests that only read rows)."""
    from assets.models import Asset
    from assets.services import project_get_default

    sha256 = fields.pop("sha256", "ab" * 32)
    defaults = {
        "project": project_get_default(tenant=tenant),
        "file_key": f"tenants/{tenant.uuid}/{sha256[:2]}/{sha256}.png",
        "width": 512,
        "height": 512,
        "format": "png",
        "bytes": 1000,
        "sha256": sha256,
    }
    return Asset.objects.create(tenant=tenant, **(defaults | fields))


def public_id(row) -> str:
    """The id the API and the studio name a row by: its `uuid` where the pk is an internal integer
    (members, API keys, budgets, webhooks), else its pk (already a UUID)."""
    return str(row.uuid if hasattr(row, "uuid") else row.pk)
