"""A web process keeps the sessions it read, and forgets each one the moment PostgreSQL says it changed: a
deactivation, a sign-out elsewhere, a clinic's change, the browser's own write, or the listener's loss."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from portal import db, sessions
from portal.tables import Clinic, Staff
from tests import factories
from tests.factories import post_form, sign_in_as

PAGE = "/account/calendar-feed"


async def _until(condition, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never came true")


@pytest.fixture
async def listening():
    """The listener `portal serve` runs in each web process, here on the test's event loop."""
    task = asyncio.create_task(sessions.keep_listening(30.0, retry_seconds=0.1))
    await _until(lambda: sessions.CACHE.live)
    yield sessions.CACHE
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not sessions.CACHE.live


@pytest.fixture
def session_reads(monkeypatch):
    """The session reads the requests make from here on."""
    return factories.statements_sent(
        monkeypatch, lambda sql: "FROM web_session" in sql and sql.lstrip().upper().startswith("SELECT"))


async def _notice_after(change) -> None:
    """Run a change as another process would, and wait for its notice to reach this one."""
    before = sessions.CACHE.generation
    await change()
    await _until(lambda: sessions.CACHE.generation > before)


async def test_a_kept_session_is_not_read_again(client, clinic, listening, session_reads):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    assert (await client.get(PAGE)).status_code == 200
    assert (await client.get(PAGE)).status_code == 200
    assert len(session_reads) == 1


async def test_without_a_listener_every_request_reads_the_session(client, clinic, session_reads):
    await sign_in_as(client, clinic)
    for _ in range(3):
        assert (await client.get(PAGE)).status_code == 200
    assert len(session_reads) == 3


async def test_a_deactivation_elsewhere_ends_the_kept_session(client, clinic, listening):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    await _notice_after(lambda: Staff.update({Staff.active: False}).where(Staff.id == clinic.id))
    response = await client.get(PAGE)
    assert response.status_code in {302, 303, 401}


async def test_a_session_ended_by_sql_elsewhere_is_not_honoured(client, clinic, listening):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    await _notice_after(lambda: db.run_sql(f"DELETE FROM web_session WHERE staff_id = {clinic.id}"))
    assert (await client.get(PAGE)).status_code in {302, 303, 401}


async def test_a_clinic_renamed_elsewhere_shows_at_the_next_request(client, clinic, listening):
    await sign_in_as(client, clinic)
    assert "Canal Dental" in (await client.get("/")).text
    await _notice_after(lambda: Clinic.update({Clinic.name: "Harbour Dental"}).where(Clinic.id == clinic.clinic_id))
    assert "Harbour Dental" in (await client.get("/")).text


async def test_sign_out_everywhere_ends_the_other_devices_kept_session(client, other_client, clinic, listening):
    await sign_in_as(client, clinic)
    await sign_in_as(other_client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    assert (await other_client.get(PAGE)).status_code == 200
    assert (await post_form(other_client, "/logout/everywhere")).status_code == 303
    # no waiting: the process that ended the sessions forgot them itself
    assert (await client.get(PAGE)).status_code in {302, 303, 401}


async def test_a_truncated_table_empties_the_cache(client, clinic, listening, session_reads):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    await _notice_after(lambda: db.run_sql("TRUNCATE web_session CASCADE"))
    assert (await client.get(PAGE)).status_code in {302, 303, 401}


async def test_the_browsers_own_write_moves_its_revision_so_no_process_serves_the_old_copy(
        client, clinic, listening, session_reads, monkeypatch):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    digest = sessions.CACHE.digest(client.cookies["session"])
    old = sessions.CACHE.get(digest, client.cookies.get(sessions.REVISION_COOKIE, ""))
    assert old is not None
    touch = sessions.touch
    monkeypatch.setattr(sessions, "touch", lambda session: session.__setitem__("seen", session["seen"] + 61))
    written = await client.get(PAGE)
    monkeypatch.setattr(sessions, "touch", touch)
    assert sessions.REVISION_COOKIE in written.headers.get("set-cookie", "")
    # Another process still holding the old copy (its notice not yet arrived) must not serve it:
    sessions.CACHE._entries[digest] = old
    assert sessions.CACHE.get(digest, client.cookies[sessions.REVISION_COOKIE]) is None
    reads_before = len(session_reads)
    assert (await client.get(PAGE)).status_code == 200
    assert len(session_reads) == reads_before + 1


async def test_a_lost_listener_turns_the_cache_off_until_it_listens_again(client, clinic, listening, session_reads):
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    await db.run_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     f"WHERE application_name = '{sessions.LISTENER_NAME}'")
    await _until(lambda: not sessions.CACHE.live)
    reads_before = len(session_reads)
    assert (await client.get(PAGE)).status_code == 200
    assert len(session_reads) == reads_before + 1
    await _until(lambda: sessions.CACHE.live)


def _kept(cache: sessions.SessionCache, generation: int | None = None, expires_in: float = 3600) -> None:
    cache.put("d", "r", cache.generation if generation is None else generation, b"{}", {"id": 1, "clinic_id": 2},
              datetime.now(timezone.utc) + timedelta(seconds=expires_in))


def test_a_read_overtaken_by_a_change_is_not_kept():
    cache = sessions.SessionCache()
    cache.start(30)
    begun = cache.generation
    cache.drop("staff:99")  # a notice arrives while the read is on its way
    _kept(cache, generation=begun)
    assert cache.get("d", "r") is None


def test_an_entry_is_kept_for_at_most_its_seconds_and_never_past_the_sessions_end(monkeypatch):
    cache = sessions.SessionCache()
    cache.start(30)
    _kept(cache)
    assert cache.get("d", "r") is not None
    assert cache.get("d", "other revision") is None
    later = sessions.time.monotonic() + 31
    monkeypatch.setattr(sessions.time, "monotonic", lambda: later)
    assert cache.get("d", "r") is None
    monkeypatch.undo()
    _kept(cache, expires_in=-1)
    assert cache.get("d", "r") is None


def test_notices_drop_what_they_name():
    cache = sessions.SessionCache()
    cache.start(30)
    for notice, gone in [("staff:1", True), ("staff:7", False), ("clinic:2", True), ("clinic:3", False),
                         ("s:d", True), ("s:other", False), ("*", True), ("nonsense", True)]:
        _kept(cache)
        cache.drop(notice)
        assert (cache.get("d", "r") is None) is gone, notice
    cache.stop()
    _kept(cache)
    assert cache.get("d", "r") is None  # not listening: nothing is kept


async def test_after_any_unsafe_request_the_next_one_reads_the_session_afresh(client, clinic, listening,
                                                                               session_reads):
    """An owner who changes the opening hours sees them on the next page, whichever process serves it."""
    await sign_in_as(client, clinic)
    assert (await client.get(PAGE)).status_code == 200
    revision = client.cookies.get(sessions.REVISION_COOKIE, "")
    refused = await post_form(client, "/calendar/appointments", {})  # any POST, even one refused
    assert 400 <= refused.status_code < 500
    assert client.cookies.get(sessions.REVISION_COOKIE, "") != revision
