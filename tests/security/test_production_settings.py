"""What production answers with, seen from outside: requests through config.settings.production (in
a subprocess, with the environment production needs) carry HSTS, nosniff, X-Frame-Options DENY, a
Referrer-Policy, a Cross-Origin-Opener-Policy and a Content-Security-Policy that allows scripts from
Atelier only; plain HTTP is redirected to HTTPS unless DJANGO_SECURE_SSL_REDIRECT=false; cookies are
Secure and HttpOnly. Every inline script or event handler the studio and the API readers render is
allowed by the CSP by hash — a new one fails here instead of silently breaking in browsers.

`manage.py check --deploy` passing at WARNING level, and production refusing to start without a
secret key, are in tests/test_deployment.py."""

import base64
import hashlib
import json
import re
import subprocess
import sys
from functools import cache

from ..processes import ROOT
from ..test_deployment import PRODUCTION_ENV, check_deploy

PROBE = r"""
import json
import os
import django

django.setup()
from django.conf import settings
from django.test import Client

path = os.environ.get("PROBE_PATH", "/accounts/login/")
client = Client(HTTP_HOST="atelier.example.com")
secure = client.get(path, secure=True)
plain = client.get(path)
cookie = secure.cookies.get("csrftoken") or {"secure": "", "httponly": "", "samesite": ""}
print(json.dumps({
    "status": secure.status_code,
    "headers": dict(secure.headers),
    "plain_status": plain.status_code,
    "plain_location": plain.headers.get("Location", ""),
    "csrf_cookie": {"secure": bool(cookie["secure"]), "httponly": bool(cookie["httponly"]),
                    "samesite": cookie["samesite"]},
    "session_cookie": {"secure": settings.SESSION_COOKIE_SECURE, "httponly": settings.SESSION_COOKIE_HTTPONLY},
}))
"""


@cache
def probe(**env) -> dict:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=base | PRODUCTION_ENV | env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def csp_directives() -> dict[str, list[str]]:
    policy = probe()["headers"]["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def test_a_production_response_carries_the_security_headers():
    answer = probe()
    headers = answer["headers"]

    assert answer["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_plain_http_is_sent_to_https_unless_turned_off():
    assert probe()["plain_status"] == 301
    assert probe()["plain_location"] == "https://atelier.example.com/accounts/login/"
    assert probe(DJANGO_SECURE_SSL_REDIRECT="false")["plain_status"] == 200


def test_cookies_are_secure_and_out_of_reach_of_scripts():
    answer = probe()
    assert answer["csrf_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert answer["session_cookie"] == {"secure": True, "httponly": True}


def test_the_content_security_policy_allows_only_atelier():
    directives = csp_directives()

    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]
    script = directives["script-src"]
    assert script == ["'self'"]  # no inline script, no handler, no eval: only Atelier's own files
    assert not any(source.startswith(("http:", "https:", "*")) for values in directives.values() for source in values)


def test_images_from_the_s3_store_are_allowed():
    s3 = {"ATELIER_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "atelier-assets"}
    endpoint = {"AWS_S3_ENDPOINT_URL": "https://s3.eu-central-1.example.net"}
    policy = probe(**s3, **endpoint)["headers"]["Content-Security-Policy"]
    assert "img-src 'self' data: blob: https://s3.eu-central-1.example.net https://*.s3.eu-central-1.example.net" in (
        policy
    )
    assert "https://*.amazonaws.com" in probe(**s3)["headers"]["Content-Security-Policy"]


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>(.*?)</script>", re.S)
EVENT_HANDLER = re.compile(r"\son[a-z]+=\"([^\"]*)\"")


def test_no_template_has_an_inline_event_handler():
    """The policy allows no inline handler: behaviour belongs in web/static/web/*.js."""
    handlers = {
        f"{template.name}: {handler}"
        for template in (ROOT / "web" / "templates").rglob("*.html")
        for handler in EVENT_HANDLER.findall(template.read_text())
    }
    assert handlers == set()


def test_no_template_writes_an_inline_script_outside_the_policy():
    allowed = set(csp_directives()["script-src"])
    for template in (ROOT / "web" / "templates").rglob("*.html"):
        for script in INLINE_SCRIPT.findall(template.read_text()):
            assert sha256_source(script) in allowed, f"{template}: inline <script> blocked by the CSP"


def test_redoc_needs_no_inline_script_and_only_swagger_ui_may_run_one(client):
    """Swagger UI's start script carries the request's CSRF token (no stable hash): /api/docs/ alone gets
    'unsafe-inline' for scripts. Redoc and every other page get the strict policy."""
    assert not INLINE_SCRIPT.findall(client.get("/api/redoc/").content.decode())
    assert INLINE_SCRIPT.findall(client.get("/api/docs/").content.decode())
    docs = probe(PROBE_PATH="/api/docs/")["headers"]["Content-Security-Policy"]
    strict = probe()["headers"]["Content-Security-Policy"]
    assert docs == strict.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'", 1)


def test_check_deploy_stays_clean_with_the_policy_middleware():
    result = check_deploy()
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
