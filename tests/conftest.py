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
os.environ.setdefault("TOTP_REQUIRED_ROLES", "")  # tests/test_two_factor.py requires it for owners itself
os.environ.setdefault("ERASURE_UNDO_MINUTES", "0")  # erasure at once; tests/test_erasure_window.py sets a window

from tests.mail_sink import MailSink, free_port  # noqa: E402

MAIL_SINK = MailSink(free_port())
os.environ["SMTP_URL"] = MAIL_SINK.url  # before Settings are read, so the live server inherits it too

from portal import audit, dashboard, db  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.calendar import grid_cache  # noqa: E402
from portal.settings import Settings  # noqa: E402
from tests import factories  # noqa: E402


def _test_database_url() -> str:
    external = os.environ.get("DATABASE_URL")
    if external:
        return external
    server_url = db.start_embedded(Path(os.environ["PORTAL_DATA_DIR"]))
    return db.with_database(server_url, "chairside_test")


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


def pytest_sessionstart(session) -> None:
    """A fresh `*_test` database for a run that executes tests; `--collect-only` starts nothing."""
    if session.config.option.collectonly:
        return
    url = _test_database_url()
    if not urlsplit(url).path.rstrip("/").endswith("_test"):
        raise SystemExit(f"Refusing to run tests against {urlsplit(url).path!r}: "
                         "the database name must end in _test.")
    _recreate_database(url)
    os.environ["DATABASE_URL"] = url  # subprocesses (`portal serve`, workers) inherit it



async def _app_tables() -> list[str]:
    """Every table of the Piccolo app plus procrastinate's, derived rather than listed."""
    from portal.piccolo_app import APP_CONFIG

    rows = await APP_CONFIG.table_classes[0].raw(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'procrastinate%'")
    return [t._meta.tablename for t in APP_CONFIG.table_classes] + [r["tablename"] for r in rows]


_TRUNCATE = ""


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session", autouse=True)
async def database(settings):
    """Migrations applied with Piccolo's forwards (which tests them), one pool on the test loop."""
    await db.migrate()
    await db.start_pool(max_size=5)
    global _TRUNCATE
    _TRUNCATE = f"TRUNCATE {', '.join(await _app_tables())} RESTART IDENTITY CASCADE"
    yield
    await db.close_pool()


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
    await db.run_sql(_TRUNCATE)
    audit.forget_seen()
    grid_cache.forget()
    dashboard.forget_counts()
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



@pytest.fixture
def provider():
    """The SMS/WhatsApp/voice stand-in (tests/provider_stub.py), over real HTTP for one test."""
    from tests.provider_stub import ProviderStub

    stub = ProviderStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def meta():
    """The Meta Graph API stand-in (tests/meta_stub.py), over real HTTP for one test."""
    from tests.meta_stub import MetaStub

    stub = MetaStub().start()
    yield stub
    stub.stop()
