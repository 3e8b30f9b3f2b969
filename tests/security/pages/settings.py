from .page import Page


def a_member(tenant):
    from tests.factories import MembershipFactory

    return MembershipFactory(tenant=tenant)


def an_api_key(tenant):
    from tests.factories import make_api_key

    return make_api_key(tenant, name="integration")[0]


def the_tenant_budget(tenant):
    from billing.models import Budget

    return Budget.objects.for_tenant(tenant).get(project=None, api_key=None)


def a_project_budget(tenant):
    from billing.services import budget_set_monthly
    from tests.factories import make_project

    return budget_set_monthly(tenant=tenant, amount_usd=10, actor=None, project=make_project(tenant))


def a_webhook(tenant):
    from tenants.webhooks import webhook_endpoint_create

    return webhook_endpoint_create(
        tenant=tenant, actor=None, url="https://93.184.215.14/hook", events=["job.failed"]
    ).endpoint


def a_delivery(tenant):
    from tenants.webhooks import webhook_endpoint_ping

    return webhook_endpoint_ping(endpoint=a_webhook(tenant), actor=None)


PAGES = [
    Page("settings", "get", "/t/{slug}/settings/", 200),
    Page("settings", "post", "/t/{slug}/settings/", 302, data={"name": "Renamed", "timezone": "Europe/Berlin"}),
    Page("settings_members", "get", "/t/{slug}/settings/members/", 200),
    Page(
        "settings_members", "post", "/t/{slug}/settings/members/", 302, data={"email": "new@x.test", "role": "viewer"}
    ),
    Page(
        "settings_member_role",
        "post",
        "/t/{slug}/settings/members/{id}/role/",
        302,
        target=a_member,
        data={"role": "creator"},
    ),
    Page("settings_member_remove", "post", "/t/{slug}/settings/members/{id}/remove/", 302, target=a_member),
    Page("settings_keys", "get", "/t/{slug}/settings/keys/", 200),
    Page("settings_keys", "post", "/t/{slug}/settings/keys/", 201, data={"name": "CMS", "role": "creator"}),
    Page("settings_key_revoke", "post", "/t/{slug}/settings/keys/{id}/revoke/", 302, target=an_api_key),
    Page("settings_budgets", "get", "/t/{slug}/settings/budgets/", 200),
    Page("settings_budgets", "post", "/t/{slug}/settings/budgets/", 302, data={"scope": "tenant", "amount": "5"}),
    Page(
        "settings_budget",
        "post",
        "/t/{slug}/settings/budgets/{id}/",
        302,
        target=the_tenant_budget,
        data={"amount": "20", "alert_thresholds": "50, 90"},
    ),
    Page("settings_budget_delete", "post", "/t/{slug}/settings/budgets/{id}/delete/", 302, target=a_project_budget),
    Page("settings_webhooks", "get", "/t/{slug}/settings/webhooks/", 200),
    Page(
        "settings_webhooks",
        "post",
        "/t/{slug}/settings/webhooks/",
        201,
        data={"url": "https://93.184.215.14/new", "events": ["job.succeeded"], "active": "on"},
    ),
    Page(
        "settings_webhook",
        "post",
        "/t/{slug}/settings/webhooks/{id}/",
        302,
        target=a_webhook,
        data={"url": "https://93.184.215.14/moved", "events": ["job.failed"], "active": "on"},
    ),
    Page("settings_webhook_ping", "post", "/t/{slug}/settings/webhooks/{id}/ping/", 302, target=a_webhook),
    Page("settings_webhook_delete", "post", "/t/{slug}/settings/webhooks/{id}/delete/", 302, target=a_webhook),
    Page(
        "settings_delivery_replay",
        "post",
        "/t/{slug}/settings/webhooks/deliveries/{id}/replay/",
        302,
        target=a_delivery,
    ),
]
