"""Two database roles: connected as the application role, rows can be read and written, but the schema, the
triggers and the append-only rule are out of reach; only the owner's SECURITY DEFINER function lifts the rule,
and each time it does a grant is recorded."""

import os

import asyncpg
import pytest

from portal import consents
from portal.consents import ConsentChange, ConsentKind
from portal.operations import db_roles
from tests import factories

# Set by conftest's session start (a collect-only run has none and needs none).
TEST_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1/collect_only_test")

APP_URL = db_roles.with_user(TEST_DATABASE_URL, db_roles.APP)


@pytest.fixture
async def app_role(clinic):
    """The test database handed over to the owner role, and a connection as the application role."""
    patient = await factories.make_patient(clinic)
    await consents.record_change(clinic, clinic.clinic_id, patient,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    admin = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        await db_roles.create_roles(admin)
        await db_roles.hand_over(admin, "chairside_test")
    finally:
        await admin.close()
    conn = await asyncpg.connect(APP_URL)
    yield conn
    await conn.close()


async def test_the_application_role_reads_and_writes_rows(app_role):
    assert await app_role.fetchval("SELECT current_user") == db_roles.APP
    assert await app_role.fetchval("SELECT count(*) FROM patient") == 1
    assert await app_role.execute("UPDATE patient SET address = 'Canal 1'") == "UPDATE 1"
    owner = await app_role.fetchval("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'patient'")
    assert owner == db_roles.OWNER


@pytest.mark.parametrize("statement", [
    "ALTER TABLE patient ADD COLUMN nickname text",
    "ALTER TABLE clinical_note DISABLE TRIGGER clinical_note_append_only",
    "DROP TRIGGER consent_event_append_only ON consent_event",
    "ALTER TABLE appointment DROP CONSTRAINT appointment_chair_free",
    "TRUNCATE audit_entry",
    "INSERT INTO erasure_grant (txid, purpose) VALUES (txid_current(), 'erasure')",
    "CREATE TABLE side_door (id int)",
])
async def test_the_application_role_cannot_change_the_schema_or_its_guards(app_role, statement):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_role.execute(statement)


async def test_setting_the_erasure_switch_no_longer_lifts_the_append_only_rule(app_role):
    async with app_role.transaction():
        await app_role.execute("SELECT set_config('chairside.erasure', 'on', true), "
                               "set_config('chairside.audit_purge', 'on', true)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await app_role.execute("DELETE FROM consent_event")
    assert await app_role.fetchval("SELECT count(*) FROM consent_event") == 1


async def test_an_erasure_goes_through_the_owners_function_and_leaves_a_grant(app_role):
    async with app_role.transaction():
        await app_role.execute("SELECT chairside_allow_erasure('erasure')")
        assert await app_role.execute("DELETE FROM consent_event") == "DELETE 1"
    async with app_role.transaction():  # a grant holds for its own transaction only
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await app_role.execute("DELETE FROM audit_entry")
    admin = await asyncpg.connect(TEST_DATABASE_URL)
    try:
        grants = await admin.fetch("SELECT purpose, granted_to FROM erasure_grant")
    finally:
        await admin.close()
    assert [(g["purpose"], g["granted_to"]) for g in grants][-1:] == [("erasure", db_roles.APP)]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_role.fetch("SELECT * FROM erasure_grant")


def test_urls_keep_their_socket_and_database():
    url = "postgresql://postgres:@/chairside?host=/srv/pg"
    assert db_roles.with_user(url, "chairside_app") == "postgresql://chairside_app:@/chairside?host=/srv/pg"
    assert db_roles.with_user("postgresql://a:b@db:5432/c", "o", "p w") == "postgresql://o:p%20w@db:5432/c"
