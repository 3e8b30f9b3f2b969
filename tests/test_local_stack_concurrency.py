"""`make run`'s stack under load: the web server and the worker write to one SQLite file at once,
and no request answers "database is locked" (500). The stack runs as `make run` starts it
(run_local: uvicorn serving ASGI, the worker's threads, the emulator) on a SQLite file under tmp_path;
the rows are read back from that file."""

import datetime
import json
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from contextlib import closing
from decimal import Decimal

import pytest

from .processes import EmulatorControl, LocalStack, wait_for

NOVA = "amazon.nova-canvas-v1:0"
SUBMITTERS = 50
IDEMPOTENT_TWINS = 15
BURST_JOBS_THAT_FIT = 30  # the budget has room for this many of the SUBMITTERS jobs
WARM_UP_JOBS = 20
WARM_UP_LATENCY = [1.0, 7.0]  # seconds, drawn per Bedrock call: ~6 stored images in any 2 s of the burst


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LocalStack(tmp_path_factory.mktemp("local-stack")) as stack:
        yield stack


def call(stack: LocalStack, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """(status, JSON answer) of one API call with the demo key; (None, the error) when no answer came."""
    request = urllib.request.Request(
        f"{stack.base}/api/v1/tenants/demo/{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {stack.api_key}", "Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = error.read()
        try:
            return error.code, json.loads(answer)
        except ValueError:
            return error.code, {"raw": answer[:300].decode("utf-8", "replace")}
    except OSError as error:  # refused or reset: no answer at all
        return None, {"raw": repr(error)}


def at_once(count: int, request) -> list[tuple[int, dict]]:
    """Run `request(index)` from `count` threads released together; their answers in index order."""
    answers: list = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        answers[index] = request(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def rows(stack: LocalStack, sql: str, *params) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{stack.var_dir / 'atelier.sqlite3'}?mode=ro", uri=True, timeout=30)) as db:
        return db.execute(sql, params).fetchall()


def tenant_budget_with_room(stack: LocalStack, room_usd: Decimal) -> dict:
    """Set the demo tenant's budget so that exactly `room_usd` is left this month."""
    status, budgets = call(stack, "GET", "budgets/")
    assert status == 200, budgets
    budget = next(b for b in budgets if b["scope"] == "tenant")
    amount = Decimal(budget["amount"]) - Decimal(budget["month"]["remaining"]) + room_usd
    status, changed = call(stack, "PATCH", f"budgets/{budget['id']}/", {"amount": str(amount)})
    assert status == 200 and Decimal(changed["month"]["remaining"]) == room_usd, changed
    return changed


def job_body(prompt: str, seed: int, n: int = 1) -> dict:
    # A seed, as most callers send: the submission then looks for a seeded duplicate before it writes.
    return {"model": NOVA, "prompt": prompt, "n": n, "width": 512, "height": 512, "seed": seed}


def unit_price(stack: LocalStack) -> Decimal:
    status, estimate = call(stack, "POST", "estimate/", job_body("a price", seed=1))
    assert status == 200, estimate
    return Decimal(estimate["total"])


def test_fifty_concurrent_submissions_while_the_worker_writes_all_answer_and_reserve_once_each(stack):
    price = unit_price(stack)
    tenant_budget_with_room(stack, price * BURST_JOBS_THAT_FIT + Decimal("50"))
    # Work for the worker during the burst: it stores images, writes assets and settles the ledger meanwhile.
    # Bedrock's answers to the warm-up come spread over seconds, so the worker's writes span the burst.
    emulator = EmulatorControl(f"http://127.0.0.1:{stack.emulator_port}")
    emulator.configure(latency=WARM_UP_LATENCY)
    try:
        warm_up = [call(stack, "POST", "jobs/", job_body("a warm-up lamp", seed=seed)) for seed in range(WARM_UP_JOBS)]
        assert [status for status, _ in warm_up] == [201] * WARM_UP_JOBS, warm_up
        wait_for(lambda: rows(stack, "SELECT 1 FROM assets_asset"), 120, "the worker's first stored image")
        burst(stack, price, warm_up)
    finally:
        emulator.configure(latency=[0, 0])


def burst(stack: LocalStack, price: Decimal, warm_up: list) -> None:
    tenant_budget_with_room(stack, price * BURST_JOBS_THAT_FIT)
    jobs_before = {job for (job,) in rows(stack, "SELECT id FROM generation_generationjob")}

    burst_started = utc_now()
    answers = at_once(SUBMITTERS, lambda index: call(stack, "POST", "jobs/", job_body("a burst kite", seed=index)))
    burst_ended = utc_now()

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: BURST_JOBS_THAT_FIT, 402: SUBMITTERS - BURST_JOBS_THAT_FIT}, [
        answer for answer in answers if answer[0] not in (201, 402)
    ]
    assert all(body["error"]["code"] == "budget_exceeded" for status, body in answers if status == 402)
    created = {uuid.UUID(body["id"]).hex for status, body in answers if status == 201}
    jobs = {job for (job,) in rows(stack, "SELECT id FROM generation_generationjob")}
    assert jobs - jobs_before == created
    # One reservation per job, each of one job's price: the budget's room and not a cent more.
    reservations = rows(stack, "SELECT job_id, amount_usd FROM billing_ledgerentry WHERE kind = 'reserve'")
    assert sorted(job for job, _ in reservations) == sorted(jobs)
    assert [Decimal(str(amount)) for job, amount in reservations if job in created] == [price] * BURST_JOBS_THAT_FIT
    # The worker wrote while the burst was being answered, and none of its writes failed.
    assert worker_writes(stack, burst_started, burst_ended) > 0, (
        burst_started, burst_ended, rows(stack, "SELECT started_at, finished_at FROM generation_generationjob"),
    )  # fmt: skip
    warm_up_ids = [uuid.UUID(body["id"]).hex for _, body in warm_up]
    ended = wait_for(
        lambda: finished(stack, warm_up_ids), 180, "the warm-up jobs to end"
    )  # slow only on a loaded machine
    assert ended == ["succeeded"] * len(warm_up_ids), rows(stack, "SELECT status, error_code, error_message FROM "
                                                             "generation_generationjob")  # fmt: skip


def worker_writes(stack: LocalStack, since: str, until: str) -> int:
    """How many times the worker wrote between `since` and `until`: a job claimed, an image stored, a job ended."""
    (claimed, ended), = rows(stack, "SELECT sum(started_at BETWEEN ?1 AND ?2), sum(finished_at BETWEEN ?1 AND ?2) "
                                    "FROM generation_generationjob", since, until)  # fmt: skip
    ((stored,),) = rows(stack, "SELECT count(*) FROM assets_asset WHERE created_at BETWEEN ? AND ?", since, until)
    return (claimed or 0) + (ended or 0) + stored


def finished(stack: LocalStack, job_ids: list[str]) -> list[str] | None:
    """The jobs' statuses once none is queued or running."""
    statuses = [
        status for job, status in rows(stack, "SELECT id, status FROM generation_generationjob") if job in job_ids
    ]
    return statuses if not {"queued", "running"} & set(statuses) else None


def test_fifteen_concurrent_requests_with_one_idempotency_key_make_one_job(stack):
    tenant_budget_with_room(stack, unit_price(stack) * 5)
    key = "one-kite-please"

    answers = at_once(
        IDEMPOTENT_TWINS,
        lambda index: call(stack, "POST", "jobs/", job_body("one kite", seed=7), {"Idempotency-Key": key}),
    )

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 200: IDEMPOTENT_TWINS - 1}, [answer for answer in answers if answer[0] >= 300]
    assert len({body["id"] for _, body in answers}) == 1
    assert rows(stack, "SELECT count(*) FROM generation_generationjob WHERE idempotency_key = ?", key) == [(1,)]
    assert rows(stack, "SELECT count(*) FROM billing_ledgerentry l JOIN generation_generationjob j ON l.job_id = j.id "
                "WHERE j.idempotency_key = ? AND l.kind = 'reserve'", key) == [(1,)]  # fmt: skip


def test_fifteen_concurrent_creations_with_one_idempotency_key_make_one_project(stack):
    """The other creating POSTs keep their keys in IdempotentRequest (tenants/api/idempotency.py)."""
    key = "one-project-please"
    body = {"name": "Spring launch"}

    answers = at_once(IDEMPOTENT_TWINS, lambda index: call(stack, "POST", "projects/", body, {"Idempotency-Key": key}))

    assert Counter(status for status, _ in answers) == {201: IDEMPOTENT_TWINS}, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert rows(stack, "SELECT count(*) FROM assets_project WHERE name = ?", body["name"]) == [(1,)]
    assert rows(stack, "SELECT count(*) FROM tenants_idempotentrequest WHERE key = ?", key) == [(1,)]


def utc_now() -> str:
    """Now as Django writes a datetime into SQLite (UTC), so it compares with the stored ones."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
