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
