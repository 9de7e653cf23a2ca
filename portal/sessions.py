"""Server-side sessions in PostgreSQL: a Litestar Store on a table, id rotation at sign-in, idle and absolute limits,
and a short per-process memory of the sessions read, told of every change by PostgreSQL."""

import asyncio
import hashlib
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty

from portal.tables import WebSession

log = logging.getLogger(__name__)

_ROTATE_TO = "chairside.session_id"
_LOADED = "chairside.session_loaded"
_STAFF = "chairside.session_staff"
# A cookie that changes with every write of the session's data and every unsafe request, so that the browser's next
# request, whichever process answers it, never meets that process's older copy (see SessionCache).
REVISION_COOKIE = "session_rev"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Write the "last seen" time at most this often, so a page view is not also a session write.
SEEN_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class _Kept:
    revision: str
    data: bytes
    staff: dict | None
    expires_at: datetime
    read_at: float  # time.monotonic()


class SessionCache:
    """The sessions this process read lately, so that a page view is not also a session query.

    Safe only while PostgreSQL can tell this process of changes, so entries are used only while the listener is
    connected (`keep_listening`). Every change to a session, a staff row, a clinic or its closure drops the entries
    it touches (triggers of migration 2026-12-04T12:00); a read that a change overtook is not kept (`generation`);
    nothing is kept longer than `seconds` in any case. A notice takes a moment to arrive, so the browser's own
    writes (and every unsafe request) also change its revision cookie: its next request misses, whichever process
    answers it.
    """

    def __init__(self, seconds: float = 30.0, size: int = 10_000):
        self.seconds = seconds
        self.size = size
        self.live = False
        self.generation = 0  # moves with every drop: a read begun before it is not kept
        self._entries: dict[str, _Kept] = {}

    @staticmethod
    def digest(key: str) -> str:
        """What entries are kept under and what notices name: never the key itself."""
        return hashlib.md5(key.encode()).hexdigest()

    def get(self, digest: str, revision: str) -> _Kept | None:
        kept = self._entries.get(digest) if self.live else None
        if kept is None or kept.revision != revision or time.monotonic() - kept.read_at > self.seconds:
            return None
        return kept if kept.expires_at > datetime.now(timezone.utc) else None

    def put(self, digest: str, revision: str, generation: int, data: bytes, staff: dict | None,
            expires_at: datetime) -> None:
        if not self.live or generation != self.generation:
            return
        if len(self._entries) >= self.size and digest not in self._entries:
            self._entries.clear()
        self._entries[digest] = _Kept(revision, data, staff, expires_at, time.monotonic())

    def drop(self, notice: str) -> None:
        """Forget what a change touched: `s:<digest>`, `staff:<id>`, `clinic:<id>`, or `*` for everything."""
        self.generation += 1
        kind, _, value = notice.partition(":")
        if kind == "s":
            self._entries.pop(value, None)
        elif kind in ("staff", "clinic") and value.isdigit():
            field, wanted = ("id" if kind == "staff" else "clinic_id"), int(value)
            for digest in [d for d, kept in self._entries.items() if kept.staff and kept.staff[field] == wanted]:
                del self._entries[digest]
        else:
            self._entries.clear()

    def start(self, seconds: float) -> None:
        self.seconds = seconds
        self.drop("*")  # whatever changed while nobody listened
        self.live = True

    def stop(self) -> None:
        self.live = False
        self.drop("*")


CACHE = SessionCache()
CHANNEL = "chairside_sessions"
LISTENER_NAME = "chairside session listener"  # in pg_stat_activity
# How often the listener proves its connection still answers: a silent network loss closes nothing.
LISTEN_PING_SECONDS = 10.0


async def keep_listening(seconds: float, cache: SessionCache = CACHE, retry_seconds: float = 1.0) -> None:
    """For the life of a web process: LISTEN on a connection of its own and drop what each notice names. The
    cache is used only while this connection is up; a lost connection empties it until the next one listens
    (tried again after `retry_seconds`, doubling up to a minute while the database stays away)."""
    import asyncpg

    wait = retry_seconds
    while True:
        connection, failed = None, False
        try:
            connection = await asyncpg.connect(os.environ["DATABASE_URL"], timeout=5,
                                               server_settings={"application_name": LISTENER_NAME})
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANNEL, lambda _connection, _pid, _channel, notice: cache.drop(notice))
            cache.start(seconds)
            wait = retry_seconds
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), LISTEN_PING_SECONDS)
                except TimeoutError:
                    await connection.fetchval("SELECT 1", timeout=5)
        except Exception as exc:  # the database away, restarting, refusing: serve uncached and try again
            log.warning("session cache off for %.1f s: %s", wait, exc.__class__.__name__)
            failed = True
        finally:
            cache.stop()
            if connection is not None:
                connection.terminate()
        await asyncio.sleep(wait)
        wait = min(wait * 2, 60.0) if failed else retry_seconds


class PostgresSessionStore(Store):
    """Sessions as rows, with the owner's id beside the data so "sign out everywhere" is one DELETE."""

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        try:
            owner = json.loads(data)
        except ValueError:
            owner = {}
        seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else (expires_in or 86400)
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        await WebSession.raw(
            "INSERT INTO web_session (key, data, staff_id, patient_id, expires_at) VALUES ({}, {}, {}, {}, {}) "
            "ON CONFLICT (key) DO UPDATE SET data = excluded.data, staff_id = excluded.staff_id, "
            "patient_id = excluded.patient_id, expires_at = excluded.expires_at",
            key, data, owner.get("staff_id"), owner.get("patient_id"), expires_at,
        )
        CACHE.drop("s:" + CACHE.digest(key))

    async def replace(self, key: str, value: bytes) -> None:
        """Update an existing session only: a request still running when its session was ended (sign out
        everywhere, deactivation) must not bring it back."""
        await WebSession.update({WebSession.data: value}).where(WebSession.key == key)
        CACHE.drop("s:" + CACHE.digest(key))  # here at once; other processes by notice

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        row = await WebSession.select(WebSession.data).where(
            (WebSession.key == key) & (WebSession.expires_at > datetime.now(timezone.utc))
        ).first()
        return bytes(row["data"]) if row else None

    async def get_with_staff(self, key: str, revision: str = "") -> tuple[bytes | None, dict | None]:
        """The session and its staff member with their clinic in one round trip (every signed-in page needs both),
        or none at all when this process read them lately and nothing changed since (`SessionCache`)."""
        digest = CACHE.digest(key)
        kept = CACHE.get(digest, revision)
        if kept is not None:
            return kept.data, dict(kept.staff) if kept.staff else None
        generation = CACHE.generation
        rows = await WebSession.raw(
            "SELECT s.data, s.expires_at AS session_expires_at, st.id, st.name, st.role, st.active, st.language, "
            "c.id AS clinic_id, c.name AS clinic_name, c.time_zone, c.country, c.locale, c.setup_version, "
            "(SELECT cc.delete_after FROM clinic_closure cc WHERE cc.clinic = c.id AND cc.cancelled_at IS NULL "
            "AND cc.deleted_at IS NULL) AS closing_at "
            "FROM web_session s "
            "LEFT JOIN staff st ON st.id = s.staff_id LEFT JOIN clinic c ON c.id = st.clinic "
            "WHERE s.key = {} AND s.expires_at > {}", key, datetime.now(timezone.utc))
        if not rows:
            return None, None
        row = rows[0]
        data, expires_at = bytes(row.pop("data")), row.pop("session_expires_at")
        staff = row if row["id"] is not None else None
        CACHE.put(digest, revision, generation, data, dict(staff) if staff else None, expires_at)
        return data, staff

    async def delete(self, key: str) -> None:
        await WebSession.delete().where(WebSession.key == key)
        CACHE.drop("s:" + CACHE.digest(key))

    async def delete_all(self) -> None:
        await WebSession.delete(force=True)
        CACHE.drop("*")

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await WebSession.select(WebSession.expires_at).where(WebSession.key == key).first()
        if row is None:
            return None
        return int((row["expires_at"] - datetime.now(timezone.utc)).total_seconds())


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side backend, plus: a fresh id at sign-in, and no write when nothing changed."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_ROTATE_TO) or super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection) -> dict:
        session_id = connection.cookies.get(self.config.key)
        store = self.config.get_store_from_app(connection.scope["app"]) if session_id else None
        if isinstance(store, PostgresSessionStore):
            raw, staff = await store.get_with_staff(session_id, connection.cookies.get(REVISION_COOKIE, ""))
            data = self.deserialize_data(raw) if raw is not None else {}
            connection.scope[_STAFF] = staff
        else:
            data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = dict(data)
        return data

    async def store_in_message(self, scope_session, message, connection: ASGIConnection) -> None:
        has_cookie = bool(connection.cookies.get(self.config.key, "null") != "null")
        if not scope_session or scope_session is Empty:
            if has_cookie:
                await super().store_in_message(Empty, message, connection)
            return
        rotated = connection.scope.get(_ROTATE_TO) is not None
        if has_cookie and not rotated:
            written = scope_session != connection.scope.get(_LOADED)
            if written:
                store = self.config.get_store_from_app(connection.scope["app"])
                await store.replace(self.get_session_id(connection), self.serialize_data(scope_session,
                                                                                         connection.scope))
            # After a write of any kind (a role, a clinic's set-up, the session itself) the browser's next request
            # reads its session afresh, in whichever process: no waiting on the notice.
            if written or connection.scope["method"] not in _SAFE_METHODS:
                MutableScopeHeaders.from_message(message).add("Set-Cookie", self._revision_cookie())
            return
        await super().store_in_message(scope_session, message, connection)

    def _revision_cookie(self) -> str:
        """A new revision for the session just written, with the session cookie's own attributes."""
        config = self.config
        return Cookie(key=REVISION_COOKIE, value=secrets.token_hex(4), path=config.path, max_age=config.max_age,
                      domain=config.domain, secure=config.secure, httponly=True,
                      samesite=config.samesite).to_header(header="")


class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


async def start_session(connection: ASGIConnection, store: Store, values: dict) -> None:
    """Begin a signed-in session under a brand-new id (the old id, if any, is destroyed: no fixation)."""
    old_id = connection.cookies.get("session")
    if old_id and old_id != "null":
        await store.delete(old_id)
    connection.scope[_ROTATE_TO] = secrets.token_hex(32)
    now = int(time.time())
    connection.set_session({**values, "started": now, "seen": now})


def loaded_staff(connection: ASGIConnection, staff_id: int) -> dict | None:
    """The staff row read with this request's session (see `get_with_staff`), if it is the one asked for."""
    row = connection.scope.get(_STAFF)
    return row if row and row["id"] == staff_id else None


def is_expired(session: dict, idle_minutes: int, absolute_hours: int) -> bool:
    now = time.time()
    started, seen = session.get("started", 0), session.get("seen", 0)
    return now - started > absolute_hours * 3600 or now - seen > idle_minutes * 60


def touch(session: dict) -> None:
    """Move the idle clock forward, coarsely, so only about one request a minute writes the session."""
    now = int(time.time())
    if now - session.get("seen", 0) >= SEEN_RESOLUTION_SECONDS:
        session["seen"] = now


async def end_sessions_of_staff(staff_id: int) -> int:
    rows = await WebSession.delete().where(WebSession.staff_id == staff_id).returning(WebSession.id)
    CACHE.drop(f"staff:{staff_id}")  # here at once; other processes by notice
    return len(rows)


async def purge_expired() -> int:
    rows = await WebSession.delete().where(WebSession.expires_at < datetime.now(timezone.utc)).returning(WebSession.id)
    return len(rows)
