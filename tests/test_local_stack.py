"""`make run` after set-up: the same command on embedded defaults (SQLite, files, the filesystem
broker) serves the API with the demo tenant, runs tasks on its worker, answers Bedrock calls on
its emulator, and Ctrl-C stops it all."""

import hashlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from generation.bedrock import bodies
from generation.bedrock.client import invoke, make_client
from generation.bedrock.request import validate_request
from generation.bedrock.specs import SPECS

from .processes import ROOT, LocalStack, wait_for


def get(url: str, key: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, {}


def post(url: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def finished_job(url: str, key: str) -> dict | None:
    status, job = get(url, key)
    return job if status == 200 and job["status"] not in ("queued", "running") else None


def studio_home_after_sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    """Sign in on the studio's form as a browser would (CSRF cookie and token): (final URL, page)."""
    import http.cookiejar
    import re
    import urllib.parse

    cookies = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    with browser.open(f"{base}/accounts/login/", timeout=10) as response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())[1]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password}).encode()
    with browser.open(urllib.request.Request(f"{base}/accounts/login/", data=form, headers={"Referer": base})) as page:
        return page.url, page.read().decode()


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries the marker: what the stack left behind."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (proc / "environ").read_bytes() and (proc / "stat").read_text().split()[2] != "Z":
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_make_run_serves_the_demo_tenant_on_embedded_defaults_and_stops_cleanly(tmp_path):
    with LocalStack(tmp_path) as stack:
        base, key = stack.base, stack.api_key

        assert (tmp_path / "atelier.sqlite3").exists()
        assert get(f"{base}/healthz")[1]["checks"]["broker"]["ok"] is True
        status, tenants = get(f"{base}/api/v1/tenants/", key)
        assert status == 200 and [t["slug"] for t in tenants] == ["demo"]
        assert get(f"{base}/api/v1/tenants/demo/members/", key)[1][0]["email"] == "admin@demo.local"
        assert get(f"{base}/api/v1/tenants/demo/")[0] == 401

        # The printed sign-in opens the studio.
        sign_in = stack.printed("Sign in:")
        email, password = sign_in.split(" as ", 1)[1].split()[0:3:2]
        url, page = studio_home_after_sign_in(base, email, password)
        assert url == f"{base}/t/demo/" and "Demo" in page

        # The worker takes tasks from the filesystem broker.
        subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config.celery_app", "call", "atelier.ping"],
            cwd=ROOT, env=stack.env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        log = stack.log_path.read_text
        wait_for(lambda: "atelier.ping" in log() and "succeeded" in log(), 30, "ping")

        # The emulator answers real boto3 at the endpoint the local settings point to.
        nova = SPECS["amazon.nova-canvas-v1:0"]
        body = bodies.build_calls(validate_request(nova, {"prompt": "a kite", "size": "512x512"}))[0]
        client = make_client(endpoint_url=f"http://127.0.0.1:{stack.emulator_port}", read_timeout=30)
        assert len(invoke(client, nova.model_id, body).payload["images"]) == 1

        # The whole pipeline: a job through the API, the worker, the emulator and local files.
        job = post(f"{base}/api/v1/tenants/demo/jobs/", key, {"model": nova.model_id, "prompt": "a kite", "n": 2,
                                                             "width": 512, "height": 512})  # fmt: skip
        done = wait_for(lambda: finished_job(f"{base}/api/v1/tenants/demo/jobs/{job['id']}/", key), 60, "the job")
        assert done["status"] == "succeeded" and len(done["assets"]) == 2
        with urllib.request.urlopen(done["assets"][0]["download_url"], timeout=10) as download:
            data = download.read()
        assert hashlib.sha256(data).hexdigest() == done["assets"][0]["sha256"]
        assert list((tmp_path / "media" / "tenants").rglob("*.png"))

        # /v1 under uvicorn on embedded defaults: no Redis, so the request waits by reading the job's row.
        v1_body = {"model": nova.model_id, "prompt": "a red kite", "size": "512x512", "response_format": "b64_json"}
        answer = post(f"{base}/v1/images/generations", key, v1_body)
        assert len(answer["data"]) == 1 and answer["usage"]["images"] == 1
        # Static files come from WhiteNoise, under ASGI too.
        with urllib.request.urlopen(f"{base}/static/web/job.js", timeout=10) as script:
            assert script.status == 200 and b"EventSource" in script.read()

    assert "Stopped." in stack.log_path.read_text()
    assert not (ROOT / "control").exists()  # broker state stays under ATELIER_VAR_DIR
    wait_for(lambda: not processes_with(str(tmp_path)), 15, "every started process to exit")
    assert get(f"http://127.0.0.1:{stack.port}/healthz")[0] == 0
