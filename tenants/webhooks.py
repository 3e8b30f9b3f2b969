"""Webhooks: a tenant's admins register endpoints; the services that change jobs, assets and budgets
call `webhook_event_emit` inside their transaction, which records one delivery per subscribed
endpoint and hands it to a Celery worker once the transaction commits. Each delivery is signed
(HMAC-SHA256 of `<unix time>.<body>`), retried with exponential backoff, recorded, and replayable.

No delivery reaches a loopback, private, link-local or cloud metadata address unless
ATELIER_WEBHOOK_ALLOWED_NETWORKS names it (metadata addresses never), in whatever IPv6 form it is
written (IPv4-mapped, IPv4-compatible, NAT64, 6to4; Teredo never). The URL is parsed once, by the
parser of the client that sends (urllib3), and refused when another parser could read another host
from it (backslashes, user info) or when it writes an address in an unusual form (one number, octal,
hex, a trailing dot). It is checked when it is registered; before every attempt its host is resolved
again, every address checked, and the connection made to those addresses only — never to a name
resolved anew — and the peer checked once more. Redirects are not followed."""

import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import urllib3
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NewConnectionError
from urllib3.util import Url, parse_url
from urllib3.util.connection import create_connection

from config.errors import ApplicationError

from .models import Tenant, WebhookDelivery, WebhookEndpoint
from .services import Actor, audit_event_record

Event = WebhookEndpoint.Event
Status = WebhookDelivery.Status

SECRET_PREFIX = "whsec_"  # noqa: S105 — a prefix, not a secret
SECRET_MIN_LENGTH = 16
MAX_ENDPOINTS_PER_TENANT = 20
RESPONSE_EXCERPT_CHARS = 2000
RESPONSE_READ_BYTES = 64 * 1024  # a receiver's answer is read this far and no further
# A message due later than this is a copy of one already scheduled (Redis redelivers unacknowledged
# messages that wait for their countdown): the copy does nothing.
EARLY_TOLERANCE = timedelta(seconds=5)
USER_AGENT = "Atelier-Webhooks/1"

# Cloud metadata services: refused whatever ATELIER_WEBHOOK_ALLOWED_NETWORKS says.
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in ("169.254.169.254/32", "169.254.170.2/32", "fd00:ec2::254/128", "100.100.100.200/32")
)


class AddressRefused(Exception):
    """A webhook URL that may not be called: not http(s), unresolvable, or reaching an address that
    is not public. Deliberately not an OSError, so no HTTP library mistakes it for a network error."""


# Addresses


def _allowed_networks() -> list:
    try:
        return [ipaddress.ip_network(network, strict=False) for network in settings.ATELIER_WEBHOOK_ALLOWED_NETWORKS]
    except ValueError as error:
        raise ImproperlyConfigured(f"ATELIER_WEBHOOK_ALLOWED_NETWORKS: {error}") from None


# IPv6 forms that carry an IPv4 address: what they reach is judged by that address.
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
IPV4_COMPATIBLE_NETWORK = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (:: and ::1 excepted)
# Refused whatever they carry: the local-use NAT64 prefix (RFC 8215) maps IPv4 as each network chooses, and
# Teredo tunnels through a relay to an address its bits only obscure.
ALWAYS_REFUSED_NETWORKS = (
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (ipaddress.ip_network("2001::/32"), "a Teredo address"),
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address stands for."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip in NAT64_NETWORK or (ip in IPV4_COMPATIBLE_NETWORK and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """Why a webhook may not connect to this IP address, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # no IPv6 zone index
    if ip.version == 6:
        refused = next((reason for network, reason in ALWAYS_REFUSED_NETWORKS if ip in network), None)
        if refused:
            return refused
        ip = _embedded_ipv4(ip) or ip
    if any(ip in network for network in METADATA_NETWORKS):
        return "a cloud metadata address"
    if ip.is_global and not ip.is_multicast:
        return None
    if any(ip in network for network in _allowed_networks()):
        return None
    kinds = [("loopback", ip.is_loopback), ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
             ("unspecified", ip.is_unspecified), ("private", ip.is_private)]  # fmt: skip
    return f"a {next((kind for kind, is_kind in kinds if is_kind), 'non-public')} address"


@dataclass(frozen=True)
class WebhookTarget:
    """A webhook URL as the delivery client sends it — parsed once, by urllib3's own parser — and the
    checked addresses its host resolved to, which are the only ones it connects to."""

    url: Url
    addresses: tuple[str, ...]

    @property
    def port(self) -> int:
        return self.url.port or (443 if self.url.scheme == "https" else 80)


def webhook_url_parse(url: str) -> Url:
    """The URL as urllib3 reads it, or AddressRefused for anything that two parsers could read two ways
    (a backslash, user info) or that names an address in a form other than the plain one (an IPv4
    address as one number, in octal or hex, or shortened; a trailing dot)."""
    if not isinstance(url, str) or any(char == "\\" or ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise AddressRefused("Write the URL without backslashes, spaces or control characters.")
    try:
        url.encode()  # a lone surrogate cannot be sent, nor stored
        parsed = parse_url(url)
    except (LocationParseError, ValueError, UnicodeError):
        raise AddressRefused("The URL is not valid.") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise AddressRefused("Use an http or https URL with a host name.")
    if parsed.auth is not None or "@" in re.split(r"[/?#]", url.split("//", 1)[-1], maxsplit=1)[0]:
        raise AddressRefused("Leave user names and passwords out of the URL: deliveries are signed instead.")
    if parsed.port == 0:
        raise AddressRefused("The port is not valid.")
    host = parsed.host.removeprefix("[").removesuffix("]")
    if "%" in host:
        raise AddressRefused("Leave the IPv6 zone out of the URL.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        if host.endswith("."):
            raise AddressRefused("Write the host name without a trailing dot.") from None
        if labels[-1].isdigit() or any(label.lower().startswith("0x") for label in labels):
            raise AddressRefused("Write an IPv4 address as four decimal numbers (such as 93.184.215.14).") from None
    return parsed


def webhook_url_check(url: str) -> WebhookTarget:
    """The URL's target, or AddressRefused unless every address its host resolves to may be called
    (any of them may be the one connected to)."""
    parsed = webhook_url_parse(url)
    host = parsed.host.removeprefix("[").removesuffix("]")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise AddressRefused(f"{host} does not resolve ({error}).") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))  # the resolver's order, each once
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise AddressRefused(f"{host} resolves to {address}, {reason}; webhooks call public addresses.")
    return WebhookTarget(parsed, addresses)


def _url_checked(url: str) -> None:
    try:
        webhook_url_check(url)
    except AddressRefused as refused:
        raise ApplicationError("invalid", f"url: {refused}", fields={"url": [str(refused)]}) from None


# Endpoints


@dataclass(frozen=True)
class EndpointCreated:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the answer to the request that created it


def webhook_endpoint_create(
    *, tenant: Tenant, actor: Actor, url: str, events: list[str], secret: str | None = None, description: str = "",
    active: bool = True,
) -> EndpointCreated:  # fmt: skip
    """Register an endpoint. Without a secret a strong one is made; either way it is in the answer."""
    if secret is not None and len(secret) < SECRET_MIN_LENGTH:
        message = f"Use at least {SECRET_MIN_LENGTH} characters, or leave it out and one is made."
        raise ApplicationError("invalid", f"secret: {message}", fields={"secret": [message]})
    endpoint = WebhookEndpoint(
        tenant=tenant, url=url, events=list(dict.fromkeys(events)), description=description, active=active,
        secret=secret or SECRET_PREFIX + secrets.token_urlsafe(32),
        created_by=actor if isinstance(actor, AbstractBaseUser) else None,
    )  # fmt: skip
    endpoint.full_clean()
    _url_checked(url)  # resolves the host before the transaction: no lock waits on DNS
    with transaction.atomic():
        Tenant.objects.select_for_update().get(pk=tenant.pk)  # two concurrent creations count each other
        if WebhookEndpoint.objects.for_tenant(tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
            message = f"A tenant has at most {MAX_ENDPOINTS_PER_TENANT} webhooks; remove one first."
            raise ApplicationError("too_many_webhooks", message, fields={"url": [message]})
        endpoint.save()
        audit_event_record(
            tenant=tenant, actor=actor, verb="webhook.created", target=endpoint,
            data={"url": endpoint.url, "events": endpoint.events, "active": endpoint.active},
        )  # fmt: skip
    return EndpointCreated(endpoint, endpoint.secret)


ENDPOINT_CHANGEABLE = ("url", "events", "description", "active")


@transaction.atomic
def webhook_endpoint_update(*, endpoint: WebhookEndpoint, actor: Actor, **changes) -> WebhookEndpoint:
    """Change url, events, description or active; a new URL is checked like a new endpoint's."""
    unknown = set(changes) - set(ENDPOINT_CHANGEABLE)
    if unknown:
        raise ValueError(f"Not changeable: {sorted(unknown)}")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = {field: getattr(endpoint, field) for field in changes}
    for field, value in changes.items():
        setattr(endpoint, field, list(dict.fromkeys(value)) if field == "events" else value)
    endpoint.full_clean()
    if endpoint.url != before.get("url", endpoint.url):
        _url_checked(endpoint.url)
    endpoint.save()
    changed = {
        field: {"from": before[field], "to": getattr(endpoint, field)}
        for field in changes
        if before[field] != getattr(endpoint, field)
    }
    if changed:
        audit_event_record(tenant=endpoint.tenant, actor=actor, verb="webhook.updated", target=endpoint, data=changed)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> None:
    """Remove an endpoint and its deliveries; those still pending are not sent."""
    audit_event_record(
        tenant=endpoint.tenant, actor=actor, verb="webhook.deleted", target=endpoint,
        data={"url": endpoint.url, "events": endpoint.events},
    )  # fmt: skip
    endpoint.delete()


# Events and deliveries


def webhook_event_emit(*, tenant: Tenant, event: str, data: dict | Callable[[], dict]) -> list[WebhookDelivery]:
    """Record a delivery of the event for each active endpoint of the tenant that subscribes to it,
    sent once the caller's transaction commits (never, if it rolls back). Call it inside the
    transaction of the change the event reports. `data` may be a function, called only when some
    endpoint listens, so a tenant without webhooks pays one query."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.for_tenant(tenant).filter(active=True).only("pk", "events")
        if event in endpoint.events
    ]
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    payload = _envelope(tenant, event, event_id, data() if callable(data) else data)
    return _deliveries_create(
        [WebhookDelivery(tenant=tenant, endpoint=e, event=event, event_id=event_id, payload=payload) for e in endpoints]
    )


def _envelope(tenant: Tenant, event: str, event_id: uuid.UUID, data: dict) -> dict:
    # Through JSON once, so what is stored is exactly what every attempt sends (UUIDs, Decimals, times as text).
    return json.loads(json.dumps(
        {"id": event_id, "type": event, "created_at": timezone.now(), "tenant": tenant.slug, "data": data},
        cls=DjangoJSONEncoder,
    ))  # fmt: skip


def _deliveries_create(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    # No full_clean: these rows are built from rows already validated and our own payload, and
    # validating their foreign keys would cost a query each in the transactions that emit them.
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        _enqueue_on_commit(delivery.pk)
    return deliveries


def _enqueue_on_commit(delivery_id) -> None:
    from .tasks import webhook_deliver

    transaction.on_commit(lambda: webhook_deliver.delay(str(delivery_id)))


def _ensure_active(endpoint: WebhookEndpoint) -> None:
    if not endpoint.active:
        raise ApplicationError("webhook_inactive", "The webhook is inactive: activate it first.", status_code=409)


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    """Send a `ping` event to one endpoint, whatever it subscribes to: to test the receiver."""
    _ensure_active(endpoint)
    data = {"webhook": endpoint.uuid, "url": endpoint.url, "events": endpoint.events}
    payload = _envelope(endpoint.tenant, WebhookDelivery.PING, uuid.uuid4(), data)
    (delivery,) = _deliveries_create([
        WebhookDelivery(tenant=endpoint.tenant, endpoint=endpoint, event=WebhookDelivery.PING,
                        event_id=payload["id"], payload=payload)
    ])  # fmt: skip
    audit_event_record(tenant=endpoint.tenant, actor=actor, verb="webhook.pinged", target=endpoint,
                       data={"delivery": str(delivery.pk)})  # fmt: skip
    return delivery


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivery's payload again (the same event id) as a new delivery to its endpoint, with
    the endpoint's current URL and secret."""
    _ensure_active(delivery.endpoint)
    (replay,) = _deliveries_create([
        WebhookDelivery(tenant=delivery.tenant, endpoint=delivery.endpoint, event=delivery.event,
                        event_id=delivery.event_id, payload=delivery.payload, replay_of=delivery)
    ])  # fmt: skip
    audit_event_record(
        tenant=delivery.tenant, actor=actor, verb="webhook.replayed", target=delivery.endpoint,
        data={"delivery": str(delivery.pk), "replay": str(replay.pk), "event": delivery.event},
    )  # fmt: skip
    return replay


def webhook_delivery_list(*, endpoint: WebhookEndpoint, status: str | None = None, event: str | None = None):
    deliveries = (
        WebhookDelivery.objects.for_tenant(endpoint.tenant_id).filter(endpoint=endpoint).select_related("endpoint")
    )
    if status:
        deliveries = deliveries.filter(status=status)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries.order_by("-created_at", "-pk")


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id) -> WebhookDelivery | None:
    deliveries = WebhookDelivery.objects.for_tenant(endpoint.tenant_id).select_related("endpoint")
    return deliveries.filter(endpoint=endpoint, pk=delivery_id).first()


# Sending


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The `Atelier-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class _CheckedAddresses:
    """Connects to the addresses webhook_url_check approved, in turn, and never resolves the name again:
    a DNS answer that changes after the check is not asked for. The peer is checked once more, should a
    connection ever reach another address. The host name still goes in Host and names the TLS server."""

    def __init__(self, *args, checked_addresses: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.checked_addresses = checked_addresses

    def _new_conn(self):
        failure: OSError | None = None
        for address in self.checked_addresses:
            try:
                sock = create_connection((address, self.port), self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)  # fmt: skip
            except OSError as error:
                failure = error
                continue
            peer = sock.getpeername()[0]
            reason = address_refusal(peer)
            if reason:
                sock.close()
                raise AddressRefused(f"{self.host} connected to {peer}, {reason}.")
            return sock
        if isinstance(failure, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from failure
        raise NewConnectionError(self, f"Failed to establish a new connection: {failure}") from failure


class _HTTPConnection(_CheckedAddresses, HTTPConnection):
    pass


class _HTTPSConnection(_CheckedAddresses, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


@dataclass(frozen=True)
class Answer:
    code: int | None = None
    body: str = ""
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _send(delivery: WebhookDelivery, attempt: int) -> Answer:
    endpoint = delivery.endpoint
    target = webhook_url_check(endpoint.url)  # DNS may have changed since the endpoint was registered
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Atelier-Event": delivery.event,
        "Atelier-Delivery": str(delivery.pk),
        "Atelier-Attempt": str(attempt),
        "Atelier-Signature": webhook_signature(secret=endpoint.secret, timestamp=int(time.time()), body=body),
    }
    seconds = settings.ATELIER_WEBHOOK_TIMEOUT_SECONDS
    timeout = urllib3.Timeout(connect=seconds, read=seconds)
    # urllib3 itself, not requests: no proxy from the environment, no redirects, no retries of its own.
    pool_class = _HTTPSPool if target.url.scheme == "https" else _HTTPPool
    with pool_class(target.url.host, target.port, timeout=timeout, retries=False, maxsize=1,
                    checked_addresses=target.addresses) as pool:  # fmt: skip
        try:
            response = pool.urlopen("POST", target.url.request_uri, body=body, headers=headers, redirect=False,
                                    preload_content=False, assert_same_host=False)  # fmt: skip
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return Answer(error=f"{type(error).__name__}: {error}"[:RESPONSE_EXCERPT_CHARS])
        try:
            excerpt = response.read(RESPONSE_READ_BYTES).decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]
        except (urllib3.exceptions.HTTPError, OSError) as error:
            excerpt = f"(the answer could not be read: {type(error).__name__})"
        finally:
            response.release_conn()
    answer = Answer(code=response.status, body=excerpt)
    return answer if answer.succeeded else replace(answer, error=f"HTTP {response.status}")


def _backoff_seconds(attempt: int) -> float:
    ceiling = min(
        settings.ATELIER_WEBHOOK_BACKOFF_MAX_SECONDS, settings.ATELIER_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 — jitter, not security


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    retry_in: float | None = None  # seconds until the next attempt, when there is one


def _pending(delivery: WebhookDelivery) -> QuerySet:
    return WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.PENDING)


def webhook_delivery_attempt(*, delivery_id) -> AttemptOutcome:
    """Send a pending delivery once and record the answer: succeeded on any 2xx; otherwise another
    attempt after a backoff, until ATELIER_WEBHOOK_MAX_ATTEMPTS, then failed. A refused address or
    an inactive endpoint fails at once. Each move is one guarded UPDATE, and no transaction is held
    while the receiver answers."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    now = timezone.now()
    if delivery is None or delivery.status != Status.PENDING:
        return AttemptOutcome(delivery.status if delivery else "gone")
    if delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_TOLERANCE:
        return AttemptOutcome(delivery.status)
    # Claim this attempt: of two copies of one message, one sends.
    claim = _pending(delivery).filter(attempts=delivery.attempts)
    if not claim.update(attempts=F("attempts") + 1, next_attempt_at=None, updated_at=now):
        return AttemptOutcome(Status.PENDING)
    attempt = delivery.attempts + 1
    if not delivery.endpoint.active:
        answer, final = Answer(error="The webhook is inactive."), True
    else:
        try:
            answer = _send(delivery, attempt)
            final = answer.succeeded or attempt >= settings.ATELIER_WEBHOOK_MAX_ATTEMPTS
        except AddressRefused as refused:
            answer, final = Answer(error=f"Refused: {refused}"), True
    recorded = {"response_code": answer.code, "response_body": answer.body, "last_error": answer.error,
                "updated_at": timezone.now()}  # fmt: skip
    if answer.succeeded:
        _pending(delivery).update(status=Status.SUCCEEDED, delivered_at=timezone.now(), **recorded)
        return AttemptOutcome(Status.SUCCEEDED)
    if final:
        _pending(delivery).update(status=Status.FAILED, **recorded)
        return AttemptOutcome(Status.FAILED)
    retry_in = _backoff_seconds(attempt)
    _pending(delivery).update(next_attempt_at=timezone.now() + timedelta(seconds=retry_in), **recorded)
    return AttemptOutcome(Status.PENDING, retry_in)
