"""Test set-up: a fresh `*_test` database per session (embedded server unless DATABASE_URL), tables truncated
per test, an in-process HTTP client on the same event loop, and factories that go through the domain."""

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

# The environment is set before the app is imported (Piccolo reads DATABASE_URL on first use).
os.environ.setdefault("PORTAL_DATA_DIR", str(ROOT / "var"))
os.environ["PORTAL_LOG_DIR"] = tempfile.mkdtemp(prefix="chairside-logs-")
os.environ["SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["PICCOLO_CONF"] = "portal.piccolo_conf"
os.environ.setdefault("PUBLIC_URL", "http://testserver")  # the Host the in-process clients send

from tests.mail_sink import MailSink, free_port  # noqa: E402

MAIL_SINK = MailSink(free_port())
os.environ["SMTP_URL"] = MAIL_SINK.url  # before Settings are read, so the live server inherits it too

from portal import db  # noqa: E402


def _test_database_url() -> str:
    external = os.environ.get("DATABASE_URL")
    if external:
        return external
    server_url = db.start_embedded(Path(os.environ["PORTAL_DATA_DIR"]))
    return db.with_database(server_url, "chairside_test")


TEST_DATABASE_URL = _test_database_url()
if not urlsplit(TEST_DATABASE_URL).path.rstrip("/").endswith("_test"):
    raise SystemExit(f"Refusing to run tests against {urlsplit(TEST_DATABASE_URL).path!r}: "
                     "the database name must end in _test.")


def _recreate_database(url: str) -> None:
    import asyncio

    name = urlsplit(url).path.lstrip("/")

    async def recreate():
        conn = await asyncpg.connect(db.with_database(url, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())


_recreate_database(TEST_DATABASE_URL)
os.environ["DATABASE_URL"] = TEST_DATABASE_URL

from portal.app import create_app  # noqa: E402
from portal.settings import Settings  # noqa: E402
from tests import factories  # noqa: E402

APP_TABLES = ("clinic", "staff", "web_session", "login_attempt", "patient", "guardian", "audit_entry", "chair",
              "appointment_type", "opening_hours", "closure", "provider_hours", "provider_absence", "appointment",
              "appointment_change", "ical_token", "outbox_message", "consent_event",
              "medical_history", "medical_alert", "tooth_finding", "procedure_code", "treatment_plan", "plan_item",
              "plan_acceptance", "clinical_note", "patient_image", "patient_image_blob", "patient_sign_in_link",
              "patient_session", "privacy_request", "data_export", "processor", "privacy_notice", "retention_rule",
              "job_run", "job_error", "staff_token", "procrastinate_jobs", "procrastinate_periodic_defers",
              "procrastinate_events", "lead", "conversation_message", "audit_chain_purge")


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session", autouse=True)
async def database(settings):
    """Migrations applied with Piccolo's forwards (which tests them), one pool on the test loop."""
    await db.migrate()
    await db.start_pool(max_size=5)
    yield
    await db.close_pool()


async def _finish_background_work() -> None:
    """Let mail a previous test started in the background end before its rows are truncated."""
    import asyncio

    from portal.privacy import mail

    pending = list(mail._background)
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


@pytest.fixture(scope="session")
def mail_server():
    MAIL_SINK.start()
    yield MAIL_SINK
    MAIL_SINK.stop()


@pytest.fixture
def mailbox(mail_server) -> MailSink:
    """The real SMTP server, emptied for this test."""
    mail_server.clear()
    return mail_server


@pytest.fixture(autouse=True)
async def clean_tables(database):
    await _finish_background_work()
    await db.run_sql(f"TRUNCATE {', '.join(APP_TABLES)} RESTART IDENTITY CASCADE")
    yield


@pytest.fixture(scope="session")
def app(settings):
    return create_app(settings, manage_pool=False)


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 5000)),
                                 base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def other_client(app):
    """A second browser, e.g. another device of the same person or a person of another clinic."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("10.0.0.2", 5000)),
                                 base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def clinic():
    """A clinic with an owner (Actor)."""
    return await factories.make_clinic("Canal Dental")


@pytest.fixture
async def other_clinic():
    return await factories.make_clinic("Harbour Smiles")


@pytest.fixture
async def cal(clinic):
    """The clinic's calendar: opening hours, two chairs, a dentist, a hygienist, two appointment types."""
    return await factories.make_calendar(clinic)

