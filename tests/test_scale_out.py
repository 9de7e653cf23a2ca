"""Scale-out: two `portal serve` processes and two `portal worker` processes on one database, on Debian's
PostgreSQL server (a throwaway cluster of its own, initdb + pg_ctl, roles set up as the README tells a DBA) and
on the embedded server (roles as the portal sets them up). A session and a CSRF token made by one web process
work on the other, and a periodic job is deferred and run once per tick although both workers defer it.
Loopback only; everything started is stopped, also when a test fails."""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench import faults
from portal.db import embedded_bin_dir, with_database
from portal.operations import db_roles

DEBIAN_ROOT = Path("/usr/lib/postgresql")
DATABASE = "scale_out_test"
PUBLIC_HOST = "portal.scale-out.test"  # the name a proxy in front of both web processes would answer to
PATIENT = {"given_name": "Ilse", "family_name": "Scale", "date_of_birth": "1984-05-06", "gender": "female",
           "national_id": "", "email": "", "phone_mobile": "", "phone_other": "", "address": "",
           "preferred_language": "en"}
# The periodic task without a kick at worker start, so each of its ticks is deferred by the periodic deferrer only.
PERIODIC_TASK = "housekeeping.retry_stalled"


def debian_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin with a server (package `postgresql`), or None."""
    found = [p.parent for p in DEBIAN_ROOT.glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    return max(found, key=lambda p: int(p.parent.name), default=None)


class DebianCluster:
    """initdb + pg_ctl with Debian's binaries in a temporary folder, on a free loopback port, trust auth.

    As root the server runs as the `postgres` OS user (PostgreSQL refuses to run as root)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="cs-scale-out-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = faults.free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start")

    @property
    def major(self) -> str:
        return self.bin_dir.parent.name

    def roles(self) -> tuple[str, str, str]:
        """(owner URL, application URL, server version) for a new database, as the README's DBA would."""
        version = asyncio.run(_as_dba(self))
        url = with_database(self.url, DATABASE)
        return db_roles.with_user(url, db_roles.OWNER), db_roles.with_user(url, db_roles.APP), version

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, str(self.bin_dir / program), *args], cwd=self.folder,
                              capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def close(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class EmbeddedServer:
    """The embedded package's PostgreSQL in a throwaway folder, the roles made as the portal makes them."""

    def __init__(self):
        self.scratch = faults.ScratchServer()
        self.folder = self.scratch.folder
        self.url = self.scratch.url
        self.major = embedded_bin_dir().parent.name.removeprefix("pginstall")  # pginstall18

    def roles(self) -> tuple[str, str, str]:
        """(owner URL, application URL, server version) for a new database."""
        self.scratch.database(DATABASE)
        owner_url, app_url = db_roles.split_embedded(self.url, DATABASE)
        return owner_url, app_url, asyncio.run(_version(self.url))

    def close(self) -> None:
        self.scratch.close()


async def _version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


async def _as_dba(cluster: "DebianCluster") -> str:
    """The README's "Database roles" statements for an external server, run as its superuser; the version."""
    conn = await asyncpg.connect(cluster.url)
    try:
        for role in (db_roles.OWNER, db_roles.APP):
            await conn.execute(f"CREATE ROLE {role} LOGIN")
        await conn.execute(f"CREATE DATABASE {DATABASE} OWNER {db_roles.OWNER}")
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    conn = await asyncpg.connect(with_database(cluster.url, DATABASE))
    try:
        await conn.execute(f"""
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            ALTER DEFAULT PRIVILEGES FOR ROLE {db_roles.OWNER} IN SCHEMA public
                GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {db_roles.APP};
            ALTER DEFAULT PRIVILEGES FOR ROLE {db_roles.OWNER} IN SCHEMA public
                GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {db_roles.APP};
            GRANT USAGE ON SCHEMA public TO {db_roles.APP};""")
    finally:
        await conn.close()
    return version


class ScaledPortal:
    """Migrated once as the owner role; then an owner account, two web processes and two workers, all as the
    application role with only DATABASE_URL, as the README's production shape has it."""

    def __init__(self, server):
        self.server = server
        self.folder = Path(tempfile.mkdtemp(prefix="cs-scale-out-logs-"))
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        self.owner_url, self.app_url, self.version = self.server.roles()
        self.env = faults.portal_env(self.app_url, self.folder / "data", PUBLIC_URL=f"http://{PUBLIC_HOST}")
        shutil.rmtree(self.env["PORTAL_LOG_DIR"])  # the fresh one portal_env made: logs go to our folder instead
        self.env["PORTAL_LOG_DIR"] = str(self.folder / "log")
        migrate = subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], cwd=faults.ROOT,
                                 env={**self.env, "MIGRATION_DATABASE_URL": self.owner_url},
                                 capture_output=True, text=True, timeout=120)
        assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
        owner = threading.Thread(target=faults.create_owner, args=(self.env,))
        owner.start()
        self.ports = [faults.free_port(), faults.free_port()]
        self.webs = [self._start(["serve", "--server", "uvicorn", "--port", str(port)], f"web-{n}.log")
                     for n, port in enumerate(self.ports)]
        self.workers = [self._start(["worker", "--no-migrate", "--concurrency", "2"], f"worker-{n}.log")
                        for n in range(2)]
        owner.join()
        for n, port in enumerate(self.ports):
            assert faults.wait_until(lambda: faults.ready(f"http://127.0.0.1:{port}"), 60), self.log(f"web-{n}.log")
        assert faults.wait_until(lambda: self.workers_started() == 2, 60), self.log("worker-0.log")

    def _start(self, args: list[str], log: str) -> subprocess.Popen:
        process = faults.portal(args, self.env, self.folder / log)
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        path = (self.server.folder if name == "server.log" else self.folder) / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else f"({name} missing)"

    def worker_logs(self) -> list[str]:
        return [(self.folder / f"worker-{n}.log").read_text(errors="replace") for n in range(2)]

    def workers_started(self) -> int:
        return sum("Starting worker" in text for text in self.worker_logs())

    def client(self, n: int) -> httpx.Client:
        """A client of web process `n`, sending the Host a proxy in front of both would send."""
        return httpx.Client(base_url=f"http://127.0.0.1:{self.ports[n]}", headers={"Host": PUBLIC_HOST},
                            timeout=30)

    def fetch(self, sql: str, *args):
        async def run():
            conn = await asyncpg.connect(self.owner_url)
            try:
                return await conn.fetch(sql, *args)
            finally:
                await conn.close()

        return asyncio.run(run())

    def close(self) -> None:
        try:
            for process in self.processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in self.processes:
                faults.stop(process)
        finally:
            self.server.close()
            shutil.rmtree(self.folder, ignore_errors=True)


def _debian_server() -> DebianCluster:
    bin_dir = debian_bin_dir()
    if bin_dir is None:
        pytest.skip(f"Debian's PostgreSQL server is not installed (no {DEBIAN_ROOT}/<version>/bin/initdb): "
                    "`make test` installs the package `postgresql`")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root, and runuser is missing to start PostgreSQL as the postgres user")
    return DebianCluster(bin_dir)


@pytest.fixture(scope="module", params=["debian", "embedded"])
def scaled(request):
    """Two web processes and two workers on one database of a fresh server of each kind."""
    portal = ScaledPortal(_debian_server() if request.param == "debian" else EmbeddedServer())
    try:
        try:
            portal.start()
        except BaseException:
            for name in ("server.log", "web-0.log", "web-1.log", "worker-0.log", "worker-1.log"):
                print(f"--- {name}\n{portal.log(name)}")
            raise
        yield portal
    finally:
        portal.close()


def _csrf(client: httpx.Client) -> str:
    return client.cookies["csrftoken"]


def test_the_server_is_the_postgresql_version_named(scaled):
    print(f"PostgreSQL {scaled.version}")
    assert scaled.version.split(".")[0] == scaled.server.major


def test_a_session_made_on_one_web_process_works_on_the_other(scaled):
    with scaled.client(0) as a, scaled.client(1) as b:
        assert b.get("/").status_code in (302, 303), "B answered a signed-in page to a stranger"
        a.get("/login")
        signed_in = a.post("/login", data={**faults.OWNER, "next": "/", "_csrf_token": _csrf(a)})
        assert signed_in.status_code == 303, signed_in.text[:500]
        b.cookies.update(a.cookies)
        page = b.get("/")
        assert page.status_code == 200 and "Olga Owner" in page.text, page.text[:500]
        # Signing out on B ends the session on A too: one session store, in the database.
        assert b.post("/logout", data={"_csrf_token": _csrf(b)}).status_code == 303
        assert a.get("/").status_code in (302, 303)


def test_a_csrf_token_from_one_web_process_is_accepted_by_the_other(scaled):
    with scaled.client(0) as a, scaled.client(1) as b:
        a.get("/login")
        assert a.post("/login", data={**faults.OWNER, "next": "/", "_csrf_token": _csrf(a)}).status_code == 303
        form = a.get("/patients/new")
        assert form.status_code == 200
        token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)
        b.cookies.update(a.cookies)
        refused = b.post("/patients", data=PATIENT)  # no token: B must refuse, or the next check proves nothing
        assert refused.status_code == 403, refused.status_code
        created = b.post("/patients", data={**PATIENT, "_csrf_token": token})
        assert created.status_code == 303, created.text[:500]
        shown = a.get(created.headers["location"])
        assert shown.status_code == 200 and "Ilse Scale" in shown.text


PERIODIC_DEFERRED = re.compile(r"Periodic job (?P<task>[\w.]+)\[?[^(]*\(.*?\) deferred for timestamp (?P<ts>\d+)")
JOB_STARTED = re.compile(r"Starting job (?P<task>[\w.]+)\[(?P<id>\d+)\]\(timestamp=(?P<ts>\d+)\)")


def test_a_periodic_job_is_deferred_and_run_once_per_tick_with_two_workers(scaled):
    # Each worker's deferrer, on starting, defers the latest tick of every periodic task (PostgreSQL's unique
    # periodic-defer row lets one win); both have started, so both tried. Wait for that tick's job to run.
    def runs() -> Counter:
        return Counter((m["task"], m["ts"]) for text in scaled.worker_logs() for m in JOB_STARTED.finditer(text))

    assert faults.wait_until(lambda: any(task == PERIODIC_TASK for task, _ in runs()), 30), scaled.log("worker-0.log")
    time.sleep(1.5)  # a second deferral or run, if there were one, shows by now
    deferred = Counter((m["task"], m["ts"]) for text in scaled.worker_logs() for m in PERIODIC_DEFERRED.finditer(text))
    ran = runs()
    print(f"deferred {dict(deferred)}; ran {dict(ran)}")
    assert deferred and all(n == 1 for n in deferred.values()), deferred
    assert [key for key in deferred if key[0] == PERIODIC_TASK], deferred
    assert all(n == 1 for key, n in ran.items() if key in deferred), ran
    assert ran[next(key for key in deferred if key[0] == PERIODIC_TASK)] == 1, ran
    # procrastinate keeps each task's latest tick in the database: one we saw deferred once.
    rows = scaled.fetch("SELECT task_name, defer_timestamp FROM procrastinate_periodic_defers")
    assert rows and all((r["task_name"], str(r["defer_timestamp"])) in deferred for r in rows), rows
    assert all(p.poll() is None for p in scaled.processes), "a web process or worker exited"
