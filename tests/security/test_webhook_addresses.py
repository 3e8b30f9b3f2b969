"""Webhook URLs that a check and a client could read two ways, and private addresses in IPv6 dress,
refused at every door — registration over REST and in the studio, a change of URL, and delivery,
where the host is resolved again and the connection goes only to the addresses that were checked."""

import json
import socket

import pytest
from django.test import Client

from tenants import webhooks
from tenants.models import WebhookDelivery, WebhookEndpoint

from ..tenants.test_webhooks import LOOPBACK, Receiver, hooks_url, register

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"  # a public address, written literally: no DNS needed

REFUSED_URLS = [
    # The checker read the host after "@", urllib3 reads it before the backslash (it connected to loopback).
    pytest.param(f"http://127.0.0.1:8000\\@{PUBLIC}/", id="backslash-before-a-public-host"),
    pytest.param("http://127.0.0.1:8000\\@203.0.113.10/", id="backslash-before-a-documentation-host"),
    pytest.param(f"http://{PUBLIC}\\hook", id="backslash-in-the-path"),
    pytest.param(f"http://user:secret@{PUBLIC}/hook", id="user-info"),
    pytest.param(f"http://127.0.0.1@{PUBLIC}/hook", id="user-info-that-looks-like-a-host"),
    # Private, loopback and metadata addresses inside IPv6.
    pytest.param("http://[64:ff9b::a00:1]/hook", id="nat64-private"),
    pytest.param("http://[64:ff9b::7f00:1]/hook", id="nat64-loopback"),
    pytest.param("http://[64:ff9b::a9fe:a9fe]/hook", id="nat64-metadata"),
    pytest.param("http://[64:ff9b:1::5db8:d70e]/hook", id="nat64-local-use-prefix"),
    pytest.param("http://[2002:a00:1::1]/hook", id="6to4-private"),
    pytest.param("http://[2002:7f00:1::1]/hook", id="6to4-loopback"),
    pytest.param("http://[2002:a9fe:a9fe::1]/hook", id="6to4-metadata"),
    pytest.param("http://[::10.0.0.1]/hook", id="ipv4-compatible-private"),
    pytest.param("http://[::127.0.0.1]/hook", id="ipv4-compatible-loopback"),
    pytest.param("http://[::169.254.169.254]/hook", id="ipv4-compatible-metadata"),
    pytest.param("http://[::ffff:10.0.0.1]/hook", id="ipv4-mapped-private"),
    pytest.param("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook", id="teredo"),
    # IPv4 written other than as four decimal numbers, and trailing dots.
    pytest.param("http://2130706433/hook", id="decimal-integer"),
    pytest.param("http://0x7f000001/hook", id="hex-integer"),
    pytest.param("http://017700000001/hook", id="octal-integer"),
    pytest.param("http://0177.0.0.1/hook", id="octal-dotted"),
    pytest.param("http://0x7f.0.0.1/hook", id="hex-dotted"),
    pytest.param("http://127.1/hook", id="shortened"),
    pytest.param(f"http://{PUBLIC}./hook", id="trailing-dot-on-an-address"),
    pytest.param("http://localhost./hook", id="trailing-dot-on-a-name"),
    pytest.param("http://[fe80::1%25eth0]/hook", id="ipv6-zone"),
    pytest.param(f"https://{PUBLIC}/" + "a" * 1990, id="longer-than-the-field"),
]
# Only JSON can carry one (a form's bytes decode with replacement characters).
LONE_SURROGATE = pytest.param(f"https://{PUBLIC}/hook\ud800", id="lone-surrogate")

ACCEPTED_URLS = [
    pytest.param(f"https://{PUBLIC}/hook?user=a@b", id="public-with-an-at-sign-in-the-query"),
    pytest.param("http://[64:ff9b::5db8:d70e]/hook", id="nat64-of-a-public-address"),
    pytest.param("http://[2002:5db8:d70e::1]/hook", id="6to4-of-a-public-address"),
]


@pytest.fixture
def no_networks_allowed(settings):
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = []


def send_json(client, method: str, path: str, body: dict):
    """The body as JSON text with \\u escapes, which can carry a lone surrogate."""
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("url", [*REFUSED_URLS, LONE_SURROGATE])
def test_registration_over_rest_refuses_the_url(url, tenant_a, admin_a, client_as, no_networks_allowed):
    response = send_json(client_as(admin_a), "post", hooks_url(tenant_a), {"url": url, "events": ["job.failed"]})

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["url"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", [*REFUSED_URLS, LONE_SURROGATE])
def test_a_change_of_url_over_rest_refuses_the_url(url, tenant_a, admin_a, client_as, no_networks_allowed):
    endpoint, _ = register(tenant_a, f"https://{PUBLIC}/hook", ["job.failed"])

    response = send_json(client_as(admin_a), "patch", hooks_url(tenant_a, endpoint.uuid), {"url": url})

    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["fields"]) == ["url"]
    endpoint.refresh_from_db()
    assert endpoint.url == f"https://{PUBLIC}/hook"


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_registration_in_the_studio_refuses_the_url(url, tenant_a, admin_a, no_networks_allowed):
    client = Client()
    client.force_login(admin_a)

    response = client.post(f"/t/{tenant_a.slug}/settings/webhooks/", {"url": url, "events": ["job.failed"]})

    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_public_addresses_are_still_accepted_in_every_form(url, tenant_a, admin_a, client_as, no_networks_allowed):
    response = client_as(admin_a).post(hooks_url(tenant_a), {"url": url, "events": ["job.failed"]}, format="json")

    assert response.status_code == 201, response.json()
    assert WebhookEndpoint.objects.get().url == url


@pytest.fixture
def receiver(settings):
    """A receiver on loopback, with loopback allowed (explicitly: only here)."""
    settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    settings.ATELIER_WEBHOOK_TIMEOUT_SECONDS = 3
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def endpoint_stored_unchecked(tenant, url: str) -> WebhookEndpoint:
    """An endpoint whose URL was never checked, as one registered before these checks existed."""
    return WebhookEndpoint.objects.create(tenant=tenant, url=url, events=["job.failed"], secret="whsec_" + "s" * 32)


def attempt(endpoint: WebhookEndpoint) -> WebhookDelivery:
    delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint, actor=None)
    webhooks.webhook_delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_delivery_refuses_a_url_whose_host_the_check_and_the_client_read_differently(tenant_a, receiver):
    """Loopback is allowed here, the public host is what the old check saw: the client went to loopback."""
    port = receiver.server.server_address[1]
    endpoint = endpoint_stored_unchecked(tenant_a, f"http://127.0.0.1:{port}\\@{PUBLIC}/hook")

    delivery = attempt(endpoint)

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("Refused:") and "backslash" in delivery.last_error
    assert receiver.requests == []


@pytest.mark.parametrize(
    "address", ["64:ff9b::a00:1", "2002:a00:1::1", "::10.0.0.1", "::ffff:a9fe:a9fe", "64:ff9b::a9fe:a9fe"]
)
def test_delivery_refuses_a_name_that_now_resolves_to_a_private_address_in_ipv6_dress(
    address, tenant_a, receiver, monkeypatch
):
    endpoint = endpoint_stored_unchecked(tenant_a, "http://hooks.customer.test/hook")
    resolve_as(monkeypatch, {"hooks.customer.test": [address]})

    delivery = attempt(endpoint)

    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert f"resolves to {address}" in delivery.last_error
    assert receiver.requests == []


def test_delivery_connects_to_the_address_it_checked_not_to_a_new_answer(tenant_a, receiver, monkeypatch):
    """DNS rebinding: the name answers loopback (allowed here) to the check, then the metadata service.
    The connection goes to the checked address, with the name in Host."""
    port = receiver.server.server_address[1]
    endpoint = endpoint_stored_unchecked(tenant_a, f"http://hooks.customer.test:{port}/hook")
    answers = resolve_as(monkeypatch, {"hooks.customer.test": ["127.0.0.1"]}, then=["169.254.169.254"])

    delivery = attempt(endpoint)

    assert (delivery.status, delivery.response_code) == ("succeeded", 200), delivery.last_error
    assert [request["headers"]["Host"] for request in receiver.requests] == [f"hooks.customer.test:{port}"]
    assert answers == ["hooks.customer.test"]  # resolved once, for the check


def resolve_as(monkeypatch, names: dict[str, list[str]], then: list[str] | None = None) -> list[str]:
    """A resolver that answers `names` the first time each is asked (then `then`, if given), and asks the
    real one for everything else (addresses written literally). Returns the names it answered."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        addresses = names[host] if host not in asked or then is None else then
        asked.append(host)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked
