"""`make bench`: serve the portal under uvicorn and granian, load it with wrk, write bench/results/latest.md."""

import asyncio
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS = BENCH_DIR / "results" / "latest.md"
LUA_REPORT = BENCH_DIR / "report.lua"
DATA_DIR = ROOT / "var" / "bench"
DATABASE = "chairside_bench"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    needs_sign_in: bool


# Measured pages, in order. Add a row when a new page matters for speed; the first row is the baseline.
PAGES = [
    Page("healthz", "/healthz", needs_sign_in=False),
    Page("dashboard", "/", needs_sign_in=True),
]
BASELINE = PAGES[0]
KEEP_BY = "dashboard"  # the page that decides which server is kept

SERVERS = ["uvicorn", "granian"]
WORKERS = 2
WRK_THREADS, WRK_CONNECTIONS = 2, 32
WARMUP_SECONDS, MEASURE_SECONDS = 2, 10
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20

SIGN_IN_EMAIL = "owner@demo.chairside.test"
SIGN_IN_PASSWORD = "chairside-demo"


@dataclass
class Measurement:
    page: Page
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and self.requests > 0


@dataclass
class ServerRun:
    server: str
    version: str
    measurements: list[Measurement] = field(default_factory=list)
    error: str = ""
    log_tail: str = ""

    def measured(self, name: str) -> Measurement | None:
        return next((m for m in self.measurements if m.page.name == name), None)

    def ratio(self, m: Measurement) -> float | None:
        """Page req/s over /healthz req/s from the same server run; None when either number is not trustworthy."""
        base = self.measured(BASELINE.name)
        if base is None or not base.valid or not m.valid or base.rps == 0:
            return None
        return m.rps / base.rps


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- database ---------------------------------------------------------------------------------------------------

def prepare_database(env: dict) -> str:
    """Own embedded database, migrated and holding the demo clinic, so the bench never touches var/ data."""
    from portal import db, demo

    os.environ.update(env)
    url = db.resolve_database_url(None, DATA_DIR, database=DATABASE)
    asyncio.run(db.migrate())

    async def load() -> None:
        await db.start_pool(max_size=2)
        try:
            await demo.load_demo()
        finally:
            await db.close_pool()

    asyncio.run(load())
    return url


# --- server -------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_version(server: str) -> str:
    try:
        from importlib.metadata import version

        return version(server)
    except Exception:  # noqa: BLE001 - a missing package shows up as a failed start later
        return "not installed"


def start_server(server: str, port: int, env: dict, log_file) -> subprocess.Popen:
    """`portal serve` exactly as production runs it; own session so stray workers can be reaped by group id."""
    cmd = [sys.executable, "-m", "portal.cli", "serve", "--server", server, "--workers", str(WORKERS),
           "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_ready(proc: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering /healthz")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"/healthz did not answer 200 within {READY_TIMEOUT_SECONDS} s")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server so it stops its workers cleanly; SIGKILL the process group only if that fails."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            say(f"server pid {proc.pid} ignored SIGTERM; killing its process group")
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return
    time.sleep(1)  # workers may still be finishing their own shutdown
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def sign_in(base: str) -> str:
    """One real sign-in (login is throttled, so once per server run) -> the Cookie header wrk sends."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        form = client.get("/login")
        form.raise_for_status()
        tag = re.search(r'<input[^>]*name="_csrf_token"[^>]*>', form.text)
        token = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
        if not token:
            raise RuntimeError("no _csrf_token input on /login")
        answer = client.post("/login", data={"_csrf_token": token.group(1), "email": SIGN_IN_EMAIL,
                                             "password": SIGN_IN_PASSWORD, "next": "/"})
        session = client.cookies.get("session")
        if answer.status_code != 303 or not session:
            raise RuntimeError(f"sign-in answered {answer.status_code} without a session cookie")
        return f"session={session}; csrftoken={client.cookies.get('csrftoken', '')}"


# --- load ---------------------------------------------------------------------------------------------------------

def wrk(url: str, seconds: int, cookie: str | None) -> dict[str, float]:
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(LUA_REPORT)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {out.returncode}): {(out.stderr or out.stdout).strip()[-400:]}")
    return {k: float(v) for k, v in (pair.split("=") for pair in line.split()[1:])}


def measure(base: str, page: Page, cookie: str | None) -> Measurement:
    m = Measurement(page)
    preflight = httpx.get(base + page.path, headers={"Cookie": cookie} if cookie else {}, timeout=10)
    if preflight.status_code != 200:
        m.problems.append(f"preflight GET {page.path} answered {preflight.status_code}")
        return m
    wrk(base + page.path, WARMUP_SECONDS, cookie)
    r = wrk(base + page.path, MEASURE_SECONDS, cookie)
    m.rps, m.requests = r["rps"], int(r["requests"])
    m.p50_ms, m.p95_ms, m.p99_ms = r["p50_us"] / 1000, r["p95_us"] / 1000, r["p99_us"] / 1000
    if r["not_200"]:
        m.problems.append(f"{int(r['not_200'])} of {m.requests} responses not 200")
    for key, label in (("connect_errors", "connect errors"), ("read_errors", "read errors"),
                       ("write_errors", "write errors"), ("timeouts", "timeouts")):
        if r[key]:
            m.problems.append(f"{int(r[key])} {label}")
    return m


def bench_server(server: str, env: dict, log_dir: Path) -> ServerRun:
    run = ServerRun(server, server_version(server))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"{server}.log"
    say(f"{server}: starting {WORKERS} workers on port {port} ...")
    with open(log_path, "wb") as log_file:
        proc = None
        try:
            proc = start_server(server, port, env, log_file)
            wait_ready(proc, base)
            cookie = sign_in(base) if any(p.needs_sign_in for p in PAGES) else None
            for page in PAGES:
                say(f"{server}: measuring {page.path} ({WARMUP_SECONDS} s warm-up, {MEASURE_SECONDS} s measured) ...")
                m = measure(base, page, cookie if page.needs_sign_in else None)
                run.measurements.append(m)
                say(f"{server}: {page.path} {m.rps:,.0f} req/s, p99 {m.p99_ms:.1f} ms"
                    + ("" if m.valid else f"  INVALID: {'; '.join(m.problems)}"))
        except Exception as exc:  # noqa: BLE001 - one server failing must not stop the other's result
            run.error = f"{type(exc).__name__}: {exc}"
            say(f"{server}: FAILED: {run.error}")
        finally:
            if proc is not None:
                stop_server(proc)
    if run.error:
        run.log_tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    return run


# --- report -------------------------------------------------------------------------------------------------------

def kept_server(runs: list[ServerRun]) -> ServerRun | None:
    """The faster on the page that matters (KEEP_BY), counting only valid measurements."""
    candidates = [(m.rps, r) for r in runs if not r.error and (m := r.measured(KEEP_BY)) and m.valid]
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def table(run: ServerRun) -> list[str]:
    rows = [f"| Page | Path | req/s | p50 ms | p95 ms | p99 ms | ratio to {BASELINE.path} | Status |",
            "|---|---|---:|---:|---:|---:|---:|---|"]
    for m in run.measurements:
        ratio = run.ratio(m)
        status = "ok" if m.valid else "INVALID: " + "; ".join(m.problems)
        if not m.requests:
            rows.append(f"| {m.page.name} | `{m.page.path}` | — | — | — | — | — | {status} |")
            continue
        rows.append(f"| {m.page.name} | `{m.page.path}` | {m.rps:,.0f} | {m.p50_ms:.2f} | {m.p95_ms:.2f} | "
                    f"{m.p99_ms:.2f} | {'—' if ratio is None else f'{ratio:.3f}'} | {status} |")
    return rows


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def report(runs: list[ServerRun], started: datetime) -> str:
    kept = kept_server(runs)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        "# Chairside benchmark",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"- Load: wrk {wrk_version()} on loopback from a second process, {WRK_THREADS} threads, "
        f"{WRK_CONNECTIONS} connections, {WARMUP_SECONDS} s warm-up then {MEASURE_SECONDS} s measured per page",
        f"- Servers: {', '.join(f'{r.server} {r.version}' for r in runs)}; {WORKERS} workers each "
        "(`portal serve --server X --workers N`, embedded PostgreSQL, demo clinic)",
        "- wrk, the server workers and PostgreSQL share the same CPUs, so figures compare runs on this machine only.",
        f"- Ratio = page req/s ÷ `{BASELINE.path}` req/s from the same server run. A run with any non-200 "
        "response or socket error is marked INVALID and not used.",
        "",
    ]
    if kept:
        others = [f"{r.server} {m.rps:,.0f}" for r in runs if r is not kept and (m := r.measured(KEEP_BY)) and m.valid]
        lines.append(f"**Kept: {kept.server}** (faster on {KEEP_BY}: {kept.measured(KEEP_BY).rps:,.0f} req/s"
                     + (f" vs {', '.join(others)}" if others else "") + ")")
    else:
        lines.append(f"**Kept: none** (no server produced a valid {KEEP_BY} measurement)")
    for run in runs:
        lines += ["", f"## {run.server} {run.version} ({WORKERS} workers)", ""]
        if run.measurements:
            lines += table(run)
        if run.error:
            lines += ["", f"FAILED: {run.error}"]
            if run.log_tail:
                lines += ["", "```", run.log_tail, "```"]
    return "\n".join(lines) + "\n"


def write_results(text: str) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(RESULTS)


def main() -> None:
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is not installed (make bench installs it with apt-get)")
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        log_dir = Path(tmp)
        env = {"PORTAL_DATA_DIR": str(DATA_DIR), "PORTAL_LOG_DIR": str(log_dir / "portal"),
               "PORTAL_HTTPS": "0", "PORTAL_DEBUG": "0"}
        from portal import db

        try:
            say(f"preparing database {DATABASE} in {DATA_DIR.relative_to(ROOT)} ...")
            url = prepare_database(env)
            server_env = {**os.environ, **env, "DATABASE_URL": url}
            runs = [bench_server(server, server_env, log_dir) for server in SERVERS]
        finally:
            db.stop_embedded()
    text = report(runs, started)
    write_results(text)
    print()
    print(text)
    say(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
