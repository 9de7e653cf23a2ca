"""Keeping running, in process: liveness and readiness, a stale worker in red on the jobs page, heartbeats,
503 with Retry-After when no database connection can be had, and `portal serve`'s worker supervisor."""

import asyncio
import sys
import time

import asyncpg
import psutil

import jobs
from portal import db
from portal.cli import WorkerChild
from portal.tables import WorkerHeartbeat
from tests.factories import sign_in_as


async def _beat(name: str, seconds_ago: int) -> None:
    await WorkerHeartbeat.raw(
        "INSERT INTO worker_heartbeat (name, host, pid, started_at, beat_at) "
        "VALUES ({}, 'box', 4242, now() - interval '1 hour', now() - make_interval(secs => {}))", name, seconds_ago)


class HeldPool:
    """Every pooled connection taken (a traffic spike, or a database that stopped answering)."""

    def __init__(self, acquire_timeout: float = 0.3):
        self.pool = db.engine().pool
        self.acquire_timeout = acquire_timeout

    async def __aenter__(self):
        self.held = [await self.pool.acquire() for _ in range(self.pool.get_max_size())]
        self.previous, self.pool.acquire_timeout = self.pool.acquire_timeout, self.acquire_timeout
        return self

    async def __aexit__(self, *_):
        self.pool.acquire_timeout = self.previous
        for connection in self.held:
            await self.pool.release(connection)


async def test_liveness_needs_no_database(client):
    async with HeldPool():
        response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readiness_checks_the_database_and_reports_the_freshest_worker(client, settings):
    idle = (await client.get("/readyz")).json()
    assert idle == {"status": "ready", "database": "ok", "worker_heartbeat_age_seconds": None,
                    "workers_stale": True}
    await _beat("old:1", 3600)
    await _beat("fresh:2", 3)
    body = (await client.get("/readyz")).json()
    assert 2 <= body["worker_heartbeat_age_seconds"] < settings.worker_stale_seconds
    assert body["workers_stale"] is False


async def test_readiness_answers_503_with_retry_after_when_no_connection_comes_in_time(client):
    started = time.monotonic()
    async with HeldPool():
        response = await client.get("/readyz")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["database"] == "unreachable"
    assert time.monotonic() - started < 2.5  # the check's own short timeout, not the request's
    assert (await client.get("/readyz")).status_code == 200


async def test_a_page_answers_503_with_retry_after_and_a_request_id_not_500(client, clinic):
    await sign_in_as(client, clinic)
    async with HeldPool():
        response = await client.get("/")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "briefly unavailable" in response.text and "reference <code>" in response.text
    assert (await client.get("/")).status_code == 200


def test_outages_are_told_apart_from_bugs():
    assert db.is_outage(ConnectionRefusedError(111, "Connection refused"))
    assert db.is_outage(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert db.is_outage(asyncpg.QueryCanceledError("canceling statement due to statement timeout"))
    assert db.is_outage(TimeoutError())
    assert db.is_outage(asyncpg.exceptions.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"))  # a reset after the server left
    try:
        try:
            raise ConnectionResetError()
        except ConnectionResetError as cause:
            raise RuntimeError("wrapped") from cause
    except RuntimeError as wrapped:
        assert db.is_outage(wrapped)
    assert not db.is_outage(ValueError("bad input"))
    assert not db.is_outage(asyncpg.DataError("value out of range"))
    assert not db.is_outage(asyncpg.UniqueViolationError("duplicate key"))


async def test_the_jobs_page_shows_a_stale_worker_in_red(client, clinic, settings):
    await sign_in_as(client, clinic)
    page = await client.get("/jobs")
    assert "No worker has reported" in page.text  # none at all is the worst case
    await _beat("gone:7", settings.worker_stale_seconds + 60)
    page = await client.get("/jobs")
    assert 'class="worker-stale"' in page.text and "No worker has reported" in page.text
    await _beat("alive:8", 2)
    page = await client.get("/jobs")
    assert 'class="worker-live"' in page.text and 'class="worker-stale"' in page.text
    assert "No worker has reported" not in page.text


async def test_a_worker_upserts_its_heartbeat_row():
    task = asyncio.create_task(jobs.beat("test-worker:1"))
    try:
        for _ in range(100):
            if await WorkerHeartbeat.exists().where(WorkerHeartbeat.name == "test-worker:1"):
                break
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
    [row] = await WorkerHeartbeat.select().where(WorkerHeartbeat.name == "test-worker:1")
    assert row["pid"] > 0 and row["beat_at"] >= row["started_at"]


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _gone(pid: int) -> bool:
    """Reaped: not even a zombie is left in the process table."""
    return not psutil.pid_exists(pid)


def test_serve_restarts_a_worker_that_died_and_leaves_no_zombie():
    child = WorkerChild([sys.executable, "-c", "import time; time.sleep(60)"]).start()
    try:
        first = child.process.pid
        child.process.kill()
        assert _wait(lambda: child.restarts == 1, 10), "no new worker was started"
        assert child.process.pid != first and child.process.poll() is None
        assert _wait(lambda: _gone(first), 5), "the dead worker was left a zombie"
    finally:
        child.stop(timeout=5)
    assert child.process.poll() is not None
    time.sleep(1.5)
    assert child.restarts == 1  # a deliberate stop is not a death to recover from
