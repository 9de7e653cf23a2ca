"""Server-side sessions in PostgreSQL: a Litestar Store on a table, id rotation at sign-in, idle and absolute limits."""

import json
import secrets
import time
from datetime import datetime, timedelta, timezone

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty

from portal.tables import WebSession

_ROTATE_TO = "chairside.session_id"
_LOADED = "chairside.session_loaded"
_STAFF = "chairside.session_staff"
# Write the "last seen" time at most this often, so a page view is not also a session write.
SEEN_RESOLUTION_SECONDS = 60


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

    async def replace(self, key: str, value: bytes) -> None:
        """Update an existing session only: a request still running when its session was ended (sign out
        everywhere, deactivation) must not bring it back."""
        await WebSession.update({WebSession.data: value}).where(WebSession.key == key)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        row = await WebSession.select(WebSession.data).where(
            (WebSession.key == key) & (WebSession.expires_at > datetime.now(timezone.utc))
        ).first()
        return bytes(row["data"]) if row else None

    async def get_with_staff(self, key: str) -> tuple[bytes | None, dict | None]:
        """The session and its staff member with their clinic in one round trip: every signed-in page needs both,
        and a second query was a third of the floor every request paid (bench: signed-in floor)."""
        rows = await WebSession.raw(
            "SELECT s.data, st.id, st.name, st.role, st.active, st.language, c.id AS clinic_id, "
            "c.name AS clinic_name, c.time_zone, c.country, c.locale, c.setup_version, "
            "(SELECT cc.delete_after FROM clinic_closure cc WHERE cc.clinic = c.id AND cc.cancelled_at IS NULL "
            "AND cc.deleted_at IS NULL) AS closing_at "
            "FROM web_session s "
            "LEFT JOIN staff st ON st.id = s.staff_id LEFT JOIN clinic c ON c.id = st.clinic "
            "WHERE s.key = {} AND s.expires_at > {}", key, datetime.now(timezone.utc))
        if not rows:
            return None, None
        row = rows[0]
        return bytes(row.pop("data")), (row if row["id"] is not None else None)

    async def delete(self, key: str) -> None:
        await WebSession.delete().where(WebSession.key == key)

    async def delete_all(self) -> None:
        await WebSession.delete(force=True)

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
            raw, staff = await store.get_with_staff(session_id)
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
            if scope_session != connection.scope.get(_LOADED):
                store = self.config.get_store_from_app(connection.scope["app"])
                await store.replace(self.get_session_id(connection), self.serialize_data(scope_session,
                                                                                         connection.scope))
            return
        await super().store_in_message(scope_session, message, connection)


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
    return len(rows)


async def purge_expired() -> int:
    rows = await WebSession.delete().where(WebSession.expires_at < datetime.now(timezone.utc)).returning(WebSession.id)
    return len(rows)
