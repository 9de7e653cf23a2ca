"""Crash safety with real processes: `portal worker` subprocesses deliver 1,000 queued reminders to a real
SMTP server; one is SIGKILLed mid-batch and another started; two run at once. Arrivals are counted by
their X-Chairside-Key header at the server.

The promise tested is the one portal/outbox.py documents: every reminder arrives, and exactly once, except
that a worker killed between the server's 250 and our UPDATE may cause one repeat per open SMTP connection,
carrying the same Message-ID (so mail stores fold it)."""

import os
import signal
import time
from collections import Counter

from bench.jobs import seed_reminders, start_worker
from jobs.outbox import CONNECTIONS
from portal.tables import OutboxMessage

COUNT = 1000


def _env() -> dict:
    return {**os.environ, "OUTBOX_LEASE_SECONDS": "3", "WORKER_QUIET": "1"}


def _arrivals(mailbox) -> Counter:
    with mailbox.lock:
        return Counter(m["X-Chairside-Key"] for m in mailbox.messages if m["X-Chairside-Key"].startswith("reminder:"))


async def _wait_for(predicate, seconds: float) -> bool:
    import asyncio

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.01)
    return False


async def _all_sent() -> bool:
    return await OutboxMessage.count().where(OutboxMessage.status.is_in(["queued", "sending"])) == 0


def _stop(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except Exception:
            process.kill()
            process.wait()


async def test_a_killed_worker_loses_nothing_and_repeats_at_most_the_message_in_flight(clinic, cal, mailbox):
    keys = await seed_reminders(clinic, cal, COUNT)
    first = start_worker(_env())
    try:
        async def mid_batch():
            return sum(_arrivals(mailbox).values()) >= 150

        assert await _wait_for(mid_batch, 60), "the worker never started sending"
        first.send_signal(signal.SIGKILL)
        first.wait()
        at_kill = sum(_arrivals(mailbox).values())
        assert at_kill < COUNT, "the batch finished before the kill; the test proves nothing"
        print(f"killed after {at_kill} arrivals")
        second = start_worker(_env())
        try:
            assert await _wait_for(_all_sent, 90)
        finally:
            _stop(second)
    finally:
        _stop(first)
    arrived = _arrivals(mailbox)
    assert set(arrived) == set(keys)  # every reminder arrived
    repeated = [key for key, n in arrived.items() if n > 1]
    print(f"{len(arrived)} reminders arrived, {len(repeated)} repeated")
    assert len(repeated) <= CONNECTIONS and all(arrived[k] == 2 for k in repeated)
    for key in repeated:
        ids = {m["Message-ID"] for m in mailbox.messages if m["X-Chairside-Key"] == key}
        assert len(ids) == 1


async def test_two_workers_at_once_deliver_each_reminder_exactly_once(clinic, cal, mailbox):
    keys = await seed_reminders(clinic, cal, COUNT)
    workers = [start_worker(_env()), start_worker(_env())]
    try:
        assert await _wait_for(_all_sent, 90)
    finally:
        for worker in workers:
            _stop(worker)
    arrived = _arrivals(mailbox)
    assert set(arrived) == set(keys) and set(arrived.values()) == {1}
