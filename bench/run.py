"""`make bench`: serve the portal under uvicorn and granian, load it with wrk, write bench/results/latest.md.

The bench database holds 50 clinics and about a million appointments (bench/generate.py, generated once, later runs
skip it); the demo clinic has 8 chairs and a busy current week. Pages are measured with wrk at 32 connections
(throughput; p95 includes queueing for the 2 workers) and the calendar and other hot pages again at 1 connection
(p95 ≈ server time); pages opened a few times a day are measured at 1 connection only. Booking is a POST, so an
async httpx client measures it (303 = booked, 409 = refused overlap). An in-process profile splits the week view's
time (bench/profile.py), and each missed target gets EXPLAIN (ANALYZE, BUFFERS).
"""

import argparse
import asyncio
import gzip
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench import booking_data, chart_data, generate, ledger_data, page_data

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS = BENCH_DIR / "results" / "latest.md"
LUA_REPORT = BENCH_DIR / "report.lua"
DATA_DIR = generate.DATA_DIR
DATABASE = generate.DATABASE
SUBSET_RESULTS = DATA_DIR / "subset.md"  # a run of some pages only (--pages): kept out of the committed results


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    needs_sign_in: bool
    low_concurrency: bool = False  # also measured with 1 connection (p95 close to server time)
    headers: tuple[str, ...] = ()  # extra request headers, e.g. "HX-Request: true" for an htmx fragment; "{base}"
    # in a header stands for the server's address (htmx names the page it was sent from in HX-Current-URL)
    loaded: bool = True  # False: measured at 1 connection only (a page opened a few times a day)


# Measured pages, in order. Add a row when a new page matters for speed; the first row is the baseline.
# The calendar rows (calendar_pages) need ids and dates from the bench data, so they are added at run time.
PAGES = [
    Page("healthz", "/healthz", needs_sign_in=False, low_concurrency=True),
    Page("dashboard", "/", needs_sign_in=True, low_concurrency=True),
    # the speed issue's floor: the owner's empty new-staff form, one session read and no domain query
    Page("signed-in floor", "/staff/new", needs_sign_in=True, low_concurrency=True),
    Page("today board", "/today", needs_sign_in=True, headers=("HX-Request: true",)),  # polled every 30 s
]
BASELINE = PAGES[0]
KEEP_BY = "dashboard"  # the page that decides which server is kept

# p95 targets from the calendar issue (ms).
TARGETS = {"calendar week": 30.0, "calendar day": 20.0, "slot finder": 20.0, "booking": 25.0,
           # p95 targets from the charts issue (ms): a patient with ten years of history.
           "chart page": 40.0, "tooth chart": 10.0,
           # perio (issue 21): the summary is redrawn after every saved tooth while charting. The bench's exam is
           # signed: since issue 22 a read-only chart (53 KB, no inputs) instead of a form per tooth (261 KB).
           "perio exam": 60.0, "perio summary": 15.0, "perio compare": 40.0,
           # the draft a hygienist charts into (a form per tooth), and its variant for a browser without script
           "perio draft": 60.0, "perio draft, no script": 60.0,
           # p95 target from the patient account issue (ms): the ten-year patient's ledger.
           "account page": 40.0}
TARGETS["public free slots"] = 50.0  # the recall issue: the signed-out booking page at one connection
TARGETS["production report"] = 500.0  # the account issue: a year's production by month over the bench ledger

# Loaded (32 connections) ratio to /healthz from the speed issue; pages added later bring their own.
RATIO_TARGETS = {"dashboard": 0.20, "today board": 0.20, "calendar day": 0.06, "calendar week": 0.06,
                 "chart page": 0.06, "tooth chart": 0.10, "patient appointments": 0.15,
                 "signed-in floor": 0.30, "booking dialog": 0.15, "appointment card": 0.15, "patient typeahead": 0.15}
# The speed issue's stricter 1-connection p95 targets (ms), beside the calendar and charts issues' older ones above.
SPEED_TARGETS = {"signed-in floor": 1.5, "dashboard": 10.0, "calendar day": 10.0, "calendar week": 10.0,
                 "booking dialog": 5.0, "appointment card": 5.0, "booking": 15.0, "chart page": 15.0,
                 "tooth chart": 6.0, "patient typeahead": 8.0}
# Low-traffic pages added by other issues, measured at 1 connection only: a page opened a few times a day.
LOW_TRAFFIC_TARGET_MS = 50.0
LOW_TRAFFIC = ("payers settings", "claims list", "family block", "export keys", "previous clinic", "account email",
               "recall list", "lab cases")
FLOOR_SUSPECT_MS = 20.0

SERVERS = ["uvicorn", "granian"]
WORKERS = 2
WRK_THREADS, WRK_CONNECTIONS = 2, 32
WARMUP_SECONDS, MEASURE_SECONDS = 2, 10
LOW_SECONDS = 5  # wrk -t1 -c1
WRK_TIMEOUT_SECONDS = 10  # wrk's default (2 s) turns the slowest loaded calendar answers into socket timeouts
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20

BOOKING_CLIENTS, BOOKING_POSTS = 8, 300
BOOKING_SEQUENTIAL_POSTS = 100
BOOKING_WARMUP_POSTS = 16

SIGN_IN_EMAIL = "owner@demo.chairside.test"
SIGN_IN_PASSWORD = "chairside-demo"


def calendar_pages(targets: generate.DemoTargets) -> list[Page]:
    """Week (one chair), day (all 8 chairs) and slot finder (the most common type) in the demo clinic's busy week."""
    wednesday = targets.monday + timedelta(days=2)
    today = datetime.now(ZoneInfo(targets.zone)).date()
    finder_day = today if targets.monday <= today < targets.monday + timedelta(days=5) else targets.monday
    kind = _finder_type(targets)
    return [
        Page("calendar week", f"/calendar/week?date={wednesday.isoformat()}&chair={targets.chairs[0]['id']}",
             needs_sign_in=True, low_concurrency=True),
        Page("calendar day", f"/calendar?date={wednesday.isoformat()}", needs_sign_in=True, low_concurrency=True),
        # the same day as a browser fetches it, compressed (wrk asks for no encoding on the other rows)
        Page("calendar day, brotli", f"/calendar?date={wednesday.isoformat()}", needs_sign_in=True,
             low_concurrency=True, loaded=False, headers=("Accept-Encoding: gzip, deflate, br",)),
        Page("calendar day, gzip", f"/calendar?date={wednesday.isoformat()}", needs_sign_in=True,
             low_concurrency=True, loaded=False, headers=("Accept-Encoding: gzip, deflate",)),
        Page("slot finder", f"/calendar/free?appointment_type_id={kind['id']}&date={finder_day.isoformat()}",
             needs_sign_in=True, low_concurrency=True),
    ]


def perio_pages(patient_id: int, exam_id: int) -> list[Page]:
    """A signed full-mouth exam (32 teeth), its summary fragment, and the newest two of twenty exams compared."""
    base = f"/patients/{patient_id}/perio"
    return [Page("perio exam", f"{base}/{exam_id}", needs_sign_in=True, low_concurrency=True),
            Page("perio summary", f"{base}/{exam_id}/summary", needs_sign_in=True, low_concurrency=True,
                 headers=("HX-Request: true",)),
            Page("perio compare", f"{base}/compare", needs_sign_in=True, low_concurrency=True)]


def perio_draft_pages(patient_id: int, exam_id: int) -> list[Page]:
    """The half-charted draft exam, as charting opens it and as a browser without script gets it."""
    path = f"/patients/{patient_id}/perio/{exam_id}"
    return [Page("perio draft", path, needs_sign_in=True, low_concurrency=True),
            Page("perio draft, no script", f"{path}?without_script=1", needs_sign_in=True, low_concurrency=True)]


def report_pages(year: tuple[str, str]) -> list[Page]:
    """The owner's production report by month for a year of the generated ledger (one aggregate per chart)."""
    start, end = year
    return [Page("production report", f"/reports/money?report=production_month&start={start}&end={end}",
                 needs_sign_in=True, low_concurrency=True)]


def chart_pages(patient_id: int) -> list[Page]:
    """The chart overview and the tooth-chart fragment (as htmx asks for it) of the ten-year patient."""
    return [
        Page("chart page", f"/patients/{patient_id}/chart", needs_sign_in=True, low_concurrency=True),
        Page("tooth chart", f"/patients/{patient_id}/chart/teeth", needs_sign_in=True, low_concurrency=True,
             headers=("HX-Request: true",)),
        Page("patient appointments", f"/patients/{patient_id}/appointments", needs_sign_in=True,
             low_concurrency=True, headers=("HX-Request: true",)),
        Page("account page", f"/patients/{patient_id}/account", needs_sign_in=True, low_concurrency=True),
    ]


def dialog_pages(targets: generate.DemoTargets, card_id: int, query: str) -> list[Page]:
    """The day view's dialogs as its grid opens them (htmx.ajax into #dialog): booking a tapped slot (09:00 in the
    first chair on the measured Wednesday) and an appointment's card; then the dialog's patient typeahead."""
    wednesday = targets.monday + timedelta(days=2)
    day_url = f"{{base}}/calendar?date={wednesday.isoformat()}"
    dialog = ("HX-Request: true", "HX-Target: dialog", f"HX-Current-URL: {day_url}")
    book = f"/calendar/book?date={wednesday.isoformat()}&step=15&time=09:00&chair={targets.chairs[0]['id']}"
    return [Page("booking dialog", book, needs_sign_in=True, low_concurrency=True, headers=dialog),
            Page("appointment card", f"/calendar/appointments/{card_id}", needs_sign_in=True, low_concurrency=True,
                 headers=dialog),
            Page("patient typeahead", f"/calendar/patient-options?q={query}", needs_sign_in=True,
                 low_concurrency=True, headers=("HX-Request: true", "HX-Trigger: patient-q", "HX-Trigger-Name: q",
                                                "HX-Target: patient-options", f"HX-Current-URL: {{base}}{book}"))]


def low_traffic_pages(clinic_id: int, patient_id: int) -> list[Page]:
    """Pages opened a few times a day (LOW_TRAFFIC_TARGET_MS at 1 connection only): settings and lists of the demo
    clinic, and the blocks the ten-year patient's page loads by htmx."""
    def quiet(name: str, path: str, signed_in: bool = True, headers: tuple[str, ...] = ()) -> Page:
        return Page(name, path, needs_sign_in=signed_in, low_concurrency=True, headers=headers, loaded=False)

    patient_page = ("HX-Request: true", f"HX-Current-URL: {{base}}/patients/{patient_id}")
    return [quiet("payers settings", "/settings/billing/payers"),
            quiet("claims list", "/billing/claims"),
            quiet("family block", f"/patients/{patient_id}/family", headers=patient_page),
            quiet("export keys", f"/export-keys/{clinic_id}", signed_in=False),
            quiet("previous clinic", f"/patients/{patient_id}/previous-clinic",
                  headers=patient_page + ("HX-Trigger: previous-clinic", "HX-Target: previous-clinic")),
            quiet("account email", "/account/email"),
            quiet("recall list", "/recall"),
            quiet("lab cases", "/lab")]


def _finder_type(targets: generate.DemoTargets) -> dict:
    return next((t for t in targets.types if t["name"] == "Check-up"), targets.types[0])


@dataclass
class Measurement:
    page: Page
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    html_bytes: int = 0  # the answer's body as served
    gzip_bytes: int = 0  # the same body gzip-compressed (level 6): what compression would send

    @property
    def valid(self) -> bool:
        return not self.problems and self.requests > 0


@dataclass
class BookingRun:
    clients: int
    posts: int
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, every answered post
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def booked(self) -> int:
        return self.statuses.get(303, 0)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] * 1000

    @property
    def valid(self) -> bool:
        return not self.problems and self.booked == self.posts


@dataclass
class ServerRun:
    server: str
    version: str
    measurements: list[Measurement] = field(default_factory=list)
    low: list[Measurement] = field(default_factory=list)  # 1 connection
    bookings: list[BookingRun] = field(default_factory=list)
    error: str = ""
    log_tail: str = ""

    def measured(self, name: str, low: bool = False) -> Measurement | None:
        return next((m for m in (self.low if low else self.measurements) if m.page.name == name), None)

    def ratio(self, m: Measurement, low: bool = False) -> float | None:
        """Page req/s over /healthz req/s from the same server run; None when either number is not trustworthy."""
        base = self.measured(BASELINE.name, low)
        if base is None or not base.valid or not m.valid or base.rps == 0:
            return None
        return m.rps / base.rps


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- database ---------------------------------------------------------------------------------------------------

def prepare_database(env: dict) -> tuple[str, generate.DemoTargets, float]:
    """Own embedded database, migrated, holding the demo clinic and the generated data (bench/generate.py), so the
    bench never touches var/ data. Returns the URL, the demo clinic's ids and dates, and the seconds it took."""
    started = time.monotonic()
    url = generate.prepare(env)
    targets = asyncio.run(generate.ensure_data(url))
    targets.totals["chart_patient"] = asyncio.run(chart_data.ensure_chart_patient(url, targets.clinic_id))
    targets.totals["perio_exam"] = asyncio.run(chart_data.latest_perio_exam(url, targets.totals["chart_patient"]))
    targets.totals["perio_draft_patient"], targets.totals["perio_draft"] = asyncio.run(
        chart_data.perio_draft(url, targets.clinic_id))
    targets.totals["ledger_charges"] = asyncio.run(ledger_data.ensure_ledger(url))
    targets.totals["production_year"] = asyncio.run(ledger_data.production_year(url, targets.clinic_id))
    targets.totals["demo_patients"] = asyncio.run(page_data.ensure_search_patients(url, targets.clinic_id))
    targets.totals["typeahead_matches"] = asyncio.run(page_data.typeahead_matches(url, targets.clinic_id))
    targets.totals["card_appointment"] = asyncio.run(page_data.card_appointment(
        url, targets.clinic_id, targets.zone, targets.monday + timedelta(days=2)))
    targets.totals["audit_cleared"] = asyncio.run(clear_audit_trail(url))
    return url, targets, time.monotonic() - started


async def clear_audit_trail(url: str) -> int:
    """Every day or week view audits each patient shown, so one run writes about a million audit rows (~200 MB).
    Empty the bench database's trail at the start, so runs stay comparable and the disk does not fill up. As the
    tables' owner: the application role may not truncate (portal/operations/db_roles.py)."""
    import asyncpg

    conn = await asyncpg.connect(os.environ.get("MIGRATION_DATABASE_URL") or url)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM audit_entry")
        if rows:
            await conn.execute("TRUNCATE audit_entry")  # the append-only trigger guards UPDATE/DELETE rows only
            say(f"bench database: emptied audit_entry ({rows:,} rows, mostly written by earlier runs' page views)")
        return rows
    finally:
        await conn.close()


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


@dataclass(frozen=True)
class SignedIn:
    session: str
    csrf_cookie: str
    csrf_token: str  # the hidden _csrf_token of the /login form; pairs with csrf_cookie for POSTs

    @property
    def cookie_header(self) -> str:
        return f"session={self.session}; csrftoken={self.csrf_cookie}"


def sign_in(base: str) -> SignedIn:
    """One real sign-in (login is throttled, so once per server run) -> the cookies wrk and the booking client send."""
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
        return SignedIn(session, client.cookies.get("csrftoken", ""), token.group(1))


# --- load ---------------------------------------------------------------------------------------------------------

def wrk(url: str, seconds: int, cookie: str | None, threads: int = WRK_THREADS,
        connections: int = WRK_CONNECTIONS, headers: tuple[str, ...] = ()) -> dict[str, float]:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={WRK_TIMEOUT_SECONDS}s", "--latency",
           "-s", str(LUA_REPORT)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {out.returncode}): {(out.stderr or out.stdout).strip()[-400:]}")
    return {k: float(v) for k, v in (pair.split("=") for pair in line.split()[1:])}


def measure(base: str, page: Page, cookie: str | None, low: bool = False) -> Measurement:
    """32 connections after a warm-up; or (low) 1 connection, 1 thread, LOW_SECONDS, right after the loaded run."""
    m = Measurement(page)
    sent = tuple(h.replace("{base}", base) for h in page.headers)
    headers = dict(h.split(": ", 1) for h in sent) | ({"Cookie": cookie} if cookie else {})
    preflight = httpx.get(base + page.path, headers=headers, timeout=30)
    if preflight.status_code != 200:
        m.problems.append(f"preflight GET {page.path} answered {preflight.status_code}")
        return m
    m.html_bytes, m.gzip_bytes = len(preflight.content), len(gzip.compress(preflight.content, 6))
    if low:
        if not page.loaded:  # no loaded run before it: warm this page's code paths and caches first
            wrk(base + page.path, 1, cookie, threads=1, connections=1, headers=sent)
        r = wrk(base + page.path, LOW_SECONDS, cookie, threads=1, connections=1, headers=sent)
    else:
        wrk(base + page.path, WARMUP_SECONDS, cookie, headers=sent)
        r = wrk(base + page.path, MEASURE_SECONDS, cookie, headers=sent)
    m.rps, m.requests = r["rps"], int(r["requests"])
    m.p50_ms, m.p95_ms, m.p99_ms = r["p50_us"] / 1000, r["p95_us"] / 1000, r["p99_us"] / 1000
    if r["not_200"]:
        m.problems.append(f"{int(r['not_200'])} of {m.requests} responses not 200")
    for key, label in (("connect_errors", "connect errors"), ("read_errors", "read errors"),
                       ("write_errors", "write errors"), ("timeouts", "timeouts")):
        if r[key]:
            m.problems.append(f"{int(r[key])} {label}")
    return m


# --- booking --------------------------------------------------------------------------------------------------------

class SlotPlan:
    """Distinct free booking slots after the demo clinic's last appointment: each chair paired with one provider
    (so neither exclusion constraint can refuse), the provider's shortest appointment type, back to back within
    the weekday's opening hours. Shared by both server runs, so no slot is booked twice."""

    def __init__(self, targets: generate.DemoTargets):
        self.targets = targets
        types_by_role = {}
        for role in ("dentist", "hygienist"):
            fitting = [t for t in targets.types if role in t["provider_roles"].split(",")]
            types_by_role[role] = min(fitting, key=lambda t: t["minutes"]) if fitting else None
        self.lanes = [(chair["id"], provider["id"], types_by_role[provider["role"]])
                      for chair, provider in zip(targets.chairs, targets.providers) if types_by_role[provider["role"]]]
        self.rng = random.Random(len(targets.patients))
        self.slots = self._slots((targets.last_day or targets.monday) + timedelta(days=7))

    def _slots(self, day: date):
        while True:
            day += timedelta(days=1)
            window = self.targets.opening.get(day.weekday())
            if day.weekday() >= 5 or window is None:
                continue
            opens, closes = window
            longest = max(kind["minutes"] for _, _, kind in self.lanes)
            at = datetime.combine(day, opens)
            while (at + timedelta(minutes=longest)).time() <= closes and at.date() == day:
                for chair, provider, kind in self.lanes:
                    yield {"appointment_type_id": str(kind["id"]), "provider_id": str(provider),
                           "chair_id": str(chair), "date": day.isoformat(), "time": at.strftime("%H:%M"),
                           "minutes": str(kind["minutes"])}
                at += timedelta(minutes=longest)

    def take(self, n: int, token: str) -> list[dict]:
        return [{"_csrf_token": token, "patient_id": str(self.rng.choice(self.targets.patients)),
                 "notes": "bench booking", **next(self.slots)} for _ in range(n)]


async def post_bookings(base: str, auth: SignedIn, forms: list[dict], clients: int) -> BookingRun:
    run = BookingRun(clients, len(forms))
    pending = iter(forms)
    cookies = {"session": auth.session, "csrftoken": auth.csrf_cookie}
    async with httpx.AsyncClient(base_url=base, cookies=cookies, follow_redirects=False, timeout=60,
                                 limits=httpx.Limits(max_connections=clients)) as client:
        async def worker() -> None:
            for form in pending:
                started = time.perf_counter()
                try:
                    answer = await client.post("/calendar/appointments", data=form)
                except httpx.HTTPError as exc:
                    run.problems.append(f"{type(exc).__name__}: {exc}")
                    continue
                run.latencies.append(time.perf_counter() - started)
                run.statuses[answer.status_code] = run.statuses.get(answer.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        run.seconds = time.perf_counter() - started
    unexpected = {k: v for k, v in run.statuses.items() if k != 303}
    if unexpected:
        run.problems.append("answers other than 303: " + ", ".join(f"{v}× {k}" for k, v in sorted(unexpected.items())))
    return run


def measure_booking(base: str, auth: SignedIn, plan: SlotPlan) -> list[BookingRun]:
    warm = asyncio.run(post_bookings(base, auth, plan.take(BOOKING_WARMUP_POSTS, auth.csrf_token), BOOKING_CLIENTS))
    if warm.booked == 0:
        raise RuntimeError(f"booking warm-up failed: {warm.statuses} {'; '.join(warm.problems[:3])}")
    return [asyncio.run(post_bookings(base, auth, plan.take(BOOKING_POSTS, auth.csrf_token), BOOKING_CLIENTS)),
            asyncio.run(post_bookings(base, auth, plan.take(BOOKING_SEQUENTIAL_POSTS, auth.csrf_token), 1))]


def bench_server(server: str, env: dict, log_dir: Path, pages: list[Page], plan: SlotPlan | None) -> ServerRun:
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
            auth = sign_in(base) if any(p.needs_sign_in for p in pages) or plan else None
            cookie = auth.cookie_header if auth else None
            for page in (p for p in pages if p.loaded):
                say(f"{server}: measuring {page.path} ({WARMUP_SECONDS} s warm-up, {MEASURE_SECONDS} s measured) ...")
                m = measure(base, page, cookie if page.needs_sign_in else None)
                run.measurements.append(m)
                say(f"{server}: {page.path} {m.rps:,.0f} req/s, p95 {m.p95_ms:.1f} ms, p99 {m.p99_ms:.1f} ms"
                    + ("" if m.valid else f"  INVALID: {'; '.join(m.problems)}"))
            for page in (p for p in pages if p.low_concurrency):
                m = measure(base, page, cookie if page.needs_sign_in else None, low=True)
                run.low.append(m)
                say(f"{server}: {page.path} at 1 connection: {m.rps:,.0f} req/s, p50 {m.p50_ms:.1f} ms, "
                    f"p95 {m.p95_ms:.1f} ms" + ("" if m.valid else f"  INVALID: {'; '.join(m.problems)}"))
            if plan is not None and auth is not None:
                say(f"{server}: booking: {BOOKING_POSTS} posts from {BOOKING_CLIENTS} clients, then "
                    f"{BOOKING_SEQUENTIAL_POSTS} from 1 ...")
                run.bookings = measure_booking(base, auth, plan)
                for b in run.bookings:
                    say(f"{server}: booking with {b.clients} client(s): {b.booked}/{b.posts} booked, "
                        f"p50 {b.percentile(50):.1f} ms, p95 {b.percentile(95):.1f} ms"
                        + ("" if b.valid else f"  INVALID: {'; '.join(b.problems[:3])}"))
        except Exception as exc:  # noqa: BLE001 - one server failing must not stop the other's result
            run.error = f"{type(exc).__name__}: {exc}"
            say(f"{server}: FAILED: {run.error}")
        finally:
            if proc is not None:
                stop_server(proc)
    if run.error:
        run.log_tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    return run


# --- in-process analysis: profile, per-action SQL, plans ---------------------------------------------------------

@dataclass
class Plan:
    title: str
    statement: object  # bench.profile.Statement
    lines: list[str]


@dataclass
class ActionCost:
    """One calendar action run in-process: its total time, the statements it sent, and plans of the costly ones."""

    name: str
    total_ms: float = 0.0
    statements: list = field(default_factory=list)  # bench.profile.Statement
    plans: list[Plan] = field(default_factory=list)
    error: str = ""

    @property
    def sql_ms(self) -> float:
        return sum(s.seconds for s in self.statements) * 1000

    def slowest(self, selects_only: bool = False):
        chosen = [s for s in self.statements if not selects_only or s.sql.lstrip().upper().startswith("SELECT")]
        return max(chosen, key=lambda s: s.seconds) if chosen else None


@dataclass
class Analysis:
    profiles: list = field(default_factory=list)  # bench.profile.PageProfile: week, day
    actions: dict[str, ActionCost] = field(default_factory=dict)
    error: str = ""


async def _actions(targets: generate.DemoTargets, plan: SlotPlan) -> dict[str, ActionCost]:
    """Each measured calendar action once warm, then once captured (the same calls the handlers make)."""
    from bench import profile
    from portal import auth
    from portal.calendar import agenda, availability, practice_setup, scheduling
    from portal.views import calendar

    actor = await auth.load_staff_actor(targets.owner_id)
    wednesday = targets.monday + timedelta(days=2)
    pages = {p.name: p for p in calendar_pages(targets)}
    finder_day = date.fromisoformat(re.search(r"date=([\d-]+)", pages["slot finder"].path).group(1))
    kind = _finder_type(targets)

    async def week():
        await calendar._choices(actor)
        await agenda.week_view(actor, wednesday, chair_id=targets.chairs[0]["id"])

    async def day():
        await agenda.day_view(actor, wednesday)

    async def finder():
        types = {t["id"]: t for t in await practice_setup.list_types(actor)}
        chosen = types[kind["id"]]
        await availability.find_free_slots(actor, availability.SlotQuery(
            minutes=chosen["minutes"], roles=tuple(chosen["provider_roles"].split(",")), first_day=finder_day,
            limit=8))

    async def booking():
        form = plan.take(1, "")[0]
        await scheduling.book_appointment(actor, scheduling.BookingForm(
            **{k: v for k, v in form.items() if k != "_csrf_token"}))

    costs = {}
    for name, action in (("calendar week", week), ("calendar day", day), ("slot finder", finder),
                         ("booking", booking)):
        cost = ActionCost(name)
        try:
            await action()
            started = time.perf_counter()
            cost.statements = await profile.capture_action(action)
            cost.total_ms = (time.perf_counter() - started) * 1000
            main, slowest = cost.slowest(selects_only=True), cost.slowest()
            if main is not None:
                cost.plans.append(Plan("main query (its slowest SELECT)", main,
                                       await profile.explain(main.sql, main.args)))
                if bounded := profile.bounded_variant(main.sql):
                    cost.plans.append(Plan("the same with `AND starts_at > <window start> - interval '8 hours'` "
                                           "(appointments last at most 480 minutes)", main,
                                           await profile.explain(bounded, main.args)))
            if slowest is not None and slowest is not main:
                cost.plans.append(Plan("its slowest statement overall (run in a transaction that is rolled back)",
                                       slowest, await profile.explain(slowest.sql, slowest.args)))
        except Exception as exc:  # noqa: BLE001 - the report says what failed
            cost.error = f"{type(exc).__name__}: {exc}"
        costs[name] = cost
    return costs


def analyse(targets: generate.DemoTargets, plan: SlotPlan) -> Analysis:
    import importlib.util

    from bench import profile
    from portal import db

    result = Analysis()
    kinds = profile.KINDS
    if importlib.util.find_spec("pyinstrument") is None:
        result.error = "pyinstrument is not installed (bench-only: `.venv/bin/pip install pyinstrument`)."
        kinds = ()

    async def go() -> None:
        await db.start_pool(max_size=4)
        try:
            for kind in kinds:
                try:
                    result.profiles.append(await profile.profile_page(
                        kind, targets.owner_id, SIGN_IN_EMAIL, SIGN_IN_PASSWORD, targets.monday + timedelta(days=2),
                        targets.chairs[0]["id"], out_dir=RESULTS.parent))
                except Exception as exc:  # noqa: BLE001
                    result.error += f"profile {kind}: {type(exc).__name__}: {exc}. "
            result.actions = await _actions(targets, plan)
        finally:
            await db.close_pool()

    asyncio.run(go())
    return result


# --- report -------------------------------------------------------------------------------------------------------

def kept_server(runs: list[ServerRun]) -> ServerRun | None:
    """The faster on the page that matters (KEEP_BY), counting only valid measurements."""
    candidates = [(m.rps, r) for r in runs if not r.error and (m := r.measured(KEEP_BY)) and m.valid]
    return max(candidates, key=lambda c: c[0])[1] if candidates else None


def table(run: ServerRun, low: bool = False) -> list[str]:
    rows = [f"| Page | Path | req/s | p50 ms | p95 ms | p99 ms | ratio to {BASELINE.path} | KB (gzip) | Status |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for m in (run.low if low else run.measurements):
        ratio = run.ratio(m, low)
        status = "ok" if m.valid else "INVALID: " + "; ".join(m.problems)
        size = f"{m.html_bytes / 1024:.1f} ({m.gzip_bytes / 1024:.1f})" if m.html_bytes else "—"
        if not m.requests:
            rows.append(f"| {m.page.name} | `{m.page.path}` | — | — | — | — | — | {size} | {status} |")
            continue
        rows.append(f"| {m.page.name} | `{m.page.path}` | {m.rps:,.0f} | {m.p50_ms:.2f} | {m.p95_ms:.2f} | "
                    f"{m.p99_ms:.2f} | {'—' if ratio is None else f'{ratio:.3f}'} | {size} | {status} |")
    return rows


def ratio_targets_table(runs: list[ServerRun]) -> list[str]:
    """Loaded ratios to /healthz against the speed issue's targets, for every server of the run."""
    rows = ["| Page | ratio target | " + " | ".join(f"{r.server} ratio | verdict" for r in runs) + " |",
            "|---|---:|" + "---:|---|" * len(runs)]
    for name, target in RATIO_TARGETS.items():
        cells = []
        for run in runs:
            m = run.measured(name)
            ratio = run.ratio(m) if m else None
            cells.append("— | no valid figure" if ratio is None else
                         f"{ratio:.3f} | {'**met**' if ratio >= target else '**missed**'}")
        rows.append(f"| {name} | ≥ {target:.2f} | " + " | ".join(cells) + " |")
    return rows


def floor_warnings(runs: list[ServerRun]) -> list[str]:
    """A bare /healthz that takes tens of milliseconds at one connection is a server-side floor (e.g. a response
    written in two pieces meeting the client's delayed ACK), not the application: flag it, the run is suspect."""
    warnings = []
    for run in runs:
        m = run.measured(BASELINE.name, low=True)
        if m and m.valid and m.p50_ms > FLOOR_SUSPECT_MS:
            warnings.append(f"- **{run.server} shows a floor**: `{BASELINE.path}` p50 {m.p50_ms:.1f} ms at one "
                            f"connection (over {FLOOR_SUSPECT_MS:.0f} ms): its figures are not comparable.")
    return warnings


def booking_table(run: ServerRun) -> list[str]:
    rows = ["| Clients | Posts | 303 booked | 409 refused | other | posts/s | p50 ms | p95 ms | p99 ms | Status |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for b in run.bookings:
        other = sum(v for k, v in b.statuses.items() if k not in (303, 409))
        rate = len(b.latencies) / b.seconds if b.seconds else 0
        status = "ok" if b.valid else "INVALID: " + "; ".join(b.problems[:3])
        rows.append(f"| {b.clients} | {b.posts} | {b.booked} | {b.statuses.get(409, 0)} | {other} | {rate:,.0f} | "
                    f"{b.percentile(50):.2f} | {b.percentile(95):.2f} | {b.percentile(99):.2f} | {status} |")
    return rows


def _p95(run: ServerRun | None, name: str, low: bool) -> float | None:
    """p95 for a target: wrk at 1 or 32 connections, or booking at 1 or BOOKING_CLIENTS clients."""
    if run is None:
        return None
    if name == "booking":
        clients = 1 if low else BOOKING_CLIENTS
        b = next((b for b in run.bookings if b.clients == clients), None)
        return b.percentile(95) if b and b.valid else None
    m = run.measured(name, low)
    return m.p95_ms if m and m.valid else None


def _verdict(value: float | None, target: float) -> str:
    if value is None:
        return "no valid figure"
    return "**met**" if value <= target else "**missed**"


def missed_targets(run: ServerRun | None) -> list[str]:
    return [name for name, target in TARGETS.items()
            if any((v := _p95(run, name, low)) is None or v > target for low in (True, False))]


def targets_table(runs: list[ServerRun], kept: ServerRun | None) -> list[str]:
    judged = kept or next((r for r in runs if not r.error), None)
    others = [r for r in runs if r is not judged]
    head = (f"| Target | p95 target | {judged.server if judged else '—'} p95, 1 connection | verdict | "
            f"{judged.server if judged else '—'} p95, loaded | verdict |"
            + "".join(f" {r.server} p95, 1 conn. / loaded |" for r in others))
    rows = [head, "|---|---:|---:|---|---:|---|" + "---:|" * len(others)]
    for name, target in TARGETS.items():
        low, loaded = _p95(judged, name, True), _p95(judged, name, False)
        fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
        extra = "".join(f" {fmt(_p95(r, name, True))} / {fmt(_p95(r, name, False))} |" for r in others)
        rows.append(f"| {name} | ≤ {target:.0f} ms | {fmt(low)} | {_verdict(low, target)} | {fmt(loaded)} | "
                    f"{_verdict(loaded, target)} |{extra}")
    return rows


def speed_targets_table(runs: list[ServerRun], kept: ServerRun | None) -> list[str]:
    """1-connection p95 against the speed issue's targets (earlier issues' targets beside them) and the low-traffic
    pages' LOW_TRAFFIC_TARGET_MS, judged on the kept server; the other servers' figures for comparison."""
    judged = kept or next((r for r in runs if not r.error), None)
    others = [r for r in runs if r is not judged]
    name = judged.server if judged else "—"
    rows = [f"| Page | p95 target | earlier target | {name} p95, 1 connection | verdict |"
            + "".join(f" {r.server} p95, 1 conn. |" for r in others),
            "|---|---:|---:|---:|---|" + "---:|" * len(others)]
    fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    wanted = {**SPEED_TARGETS, **{page: LOW_TRAFFIC_TARGET_MS for page in LOW_TRAFFIC}}
    for page, target in wanted.items():
        value = _p95(judged, page, True)
        earlier = f"≤ {TARGETS[page]:.0f} ms" if page in TARGETS else "—"
        rows.append(f"| {page} | ≤ {target:g} ms | {earlier} | {fmt(value)} | {_verdict(value, target)} |"
                    + "".join(f" {fmt(_p95(r, page, True))} |" for r in others))
    return rows


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    match = re.search(r"wrk (\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "?"


def code_version() -> str:
    """The commit measured, and which source paths had uncommitted changes (others edit portal/ concurrently)."""
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    commit = git("log", "-1", "--format=%h %s") or "?"
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "portal", "templates", "static").splitlines()]
    return f"`{commit}`" + (f"; uncommitted changes in {', '.join(dirty)}" if dirty else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def profile_section(analysis: Analysis) -> list[str]:
    lines = []
    if not analysis.profiles:
        return ["", "## Where the calendar's server time goes (in-process profile)", "",
                f"Not profiled: {analysis.error or 'unknown error'}"]
    if analysis.error:
        lines += ["", f"Profile problems: {analysis.error}"]
    for p in analysis.profiles:
        lines += ["", f"## Where the {p.kind} view's server time goes (in-process profile)", "",
                  f"`{p.path}` ({p.appointments_shown} appointments placed, {p.html_bytes:,} bytes of HTML), "
                  f"{p.iterations} iterations each, one process, pool on the bench database, no server and no "
                  "wrk. Timed with perf_counter (no profiler attached):", "",
                  "| Part | mean ms | p50 ms | p95 ms | share of the request | Note |", "|---|---:|---:|---:|---:|---|"]
        full = p.parts[0].mean_ms if p.parts else 0
        for part in p.parts:
            share = f"{100 * part.mean_ms / full:.0f} %" if full else "—"
            lines.append(f"| {part.name} | {part.mean_ms:.2f} | {part.p50_ms:.2f} | {part.p95_ms:.2f} | {share} | "
                         f"{part.note} |")
        lines += ["", f"Statements `{p.kind}_view` sends per view (wall time in the handler, including Piccolo's "
                  "compile and asyncpg's decode):", "", "| Statement | per view | ms per view |", "|---|---:|---:|"]
        lines += [f"| {label} | {calls:.0f}× | {ms:.2f} |" for label, calls, ms in p.queries]
        lines += ["", f"pyinstrument (async mode, 1 ms sampling) over {p.iterations} whole in-process requests; "
                  f"{p.profiled_ms:.1f} ms per request with the profiler attached, so read shares, not ms. "
                  f"Full tree: [{p.text_file}]({p.text_file}), [{p.html_file}]({p.html_file}).", "",
                  "| Part of the request | share |", "|---|---:|"]
        lines += [f"| {name} | {pct:.1f} % |" for name, pct in p.tree]
        lines += ["", "Time by the nearest portal function or template on the stack (library and database time "
                  "below it included):", "", "| share | function | where |", "|---:|---|---|"]
        lines += [f"| {pct:.1f} % | `{fn}` | {where} |" for fn, where, pct in p.hot]
    return lines


def _short(sql: str) -> str:
    """SELECTs in full; a many-row INSERT only up to its first rows."""
    limit = 700 if sql.lstrip().upper().startswith("INSERT") else 20_000
    return sql if len(sql) <= limit else sql[:limit] + f" … ({len(sql):,} characters)"


def actions_section(analysis: Analysis, missed: list[str]) -> list[str]:
    if not analysis.actions:
        return []
    lines = ["", "## Calendar actions in-process: SQL vs Python", "",
             "Each action run once warm, then once measured with its statements recorded (the same calls the "
             "handlers make, without HTTP, session or template). Statement times are wall time in the process "
             "(Piccolo compile + round trip + decode).", "",
             "| Action | total ms | SQL ms | statements | slowest statement | its ms |",
             "|---|---:|---:|---:|---|---:|"]
    for cost in analysis.actions.values():
        if cost.error:
            lines.append(f"| {cost.name} | — | — | — | FAILED: {cost.error} | — |")
            continue
        slowest = cost.slowest()
        lines.append(f"| {cost.name} | {cost.total_ms:.2f} | {cost.sql_ms:.2f} | {len(cost.statements)} | "
                     f"{slowest.label if slowest else '—'} | {slowest.seconds * 1000 if slowest else 0:.2f} |")
    for name in missed:
        cost = analysis.actions.get(name)
        if cost is None or not cost.plans:
            continue
        lines += ["", f"### Missed target `{name}`: EXPLAIN (ANALYZE, BUFFERS)"]
        for plan in cost.plans:
            st = plan.statement
            execution = next((ln for ln in plan.lines if ln.startswith("Execution Time")), "")
            args = ", ".join(f"${i + 1} = `{a}`" for i, a in enumerate(st.args[:12]))
            if len(st.args) > 12:
                args += f", … ({len(st.args)} parameters)"
            lines += ["", f"**{plan.title}**: {st.label}, {st.seconds * 1000:.2f} ms in the process; "
                      f"server-side {execution}", "", "```sql", _short(st.sql), "```", "", f"Parameters: {args}", "",
                      "```", *plan.lines, "```"]
    return lines


def report(runs: list[ServerRun], started: datetime, targets: generate.DemoTargets | None = None,
           data_seconds: float = 0.0, analysis: Analysis | None = None, code: str = "") -> str:
    kept = kept_server(runs)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        "# Chairside benchmark",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"- Code: {code or code_version()}",
        f"- Machine load when the run started (1/5/15-minute load average): {LOAD_AT_START} "
        "(anything well above 0 means something else was running)",
        f"- Load: wrk {wrk_version()} on loopback from a second process, {WRK_THREADS} threads, "
        f"{WRK_CONNECTIONS} connections, {WARMUP_SECONDS} s warm-up then {MEASURE_SECONDS} s measured per page "
        f"(timeout {WRK_TIMEOUT_SECONDS} s); "
        f"calendar and other hot pages and `/healthz` again with 1 thread, 1 connection, {LOW_SECONDS} s; "
        "low-traffic pages only so (after a 1 s warm-up)",
        f"- Servers: {', '.join(f'{r.server} {r.version}' for r in runs)}; {WORKERS} workers each "
        "(`portal serve --server X --workers N`, embedded PostgreSQL, demo clinic)",
        "- wrk, the server workers and PostgreSQL share the same CPUs, so figures compare runs on this machine only.",
        f"- Ratio = page req/s ÷ `{BASELINE.path}` req/s from the same server run (and the same connection count). "
        "A run with any non-200 response or socket error is marked INVALID and not used.",
        "- With 32 connections on 2 workers, p95 is mostly queueing (≈ 16 requests wait per worker); the 1-connection "
        "p95 is close to the server time of one request (plus loopback).",
    ]
    if targets is not None:
        t = targets.totals
        lines += [
            f"- Data (bench/generate.py, {data_seconds:.0f} s this run): {t['clinics']} clinics, "
            f"{t['appointments']:,} appointments over 10 years (9 past, 1 ahead), {t['patients']:,} patients; "
            f"audit_entry emptied at the start ({t.get('audit_cleared', 0):,} rows). "
            f"Demo clinic: {len(targets.chairs)} chairs, "
            f"{len(targets.providers)} providers, {t['demo_appointments']:,} appointments, "
            f"{targets.week_appointments} of them in the measured week {targets.monday} – "
            f"{targets.monday + timedelta(days=4)} (Mon–Fri, {targets.zone}).",
            f"- Patient typeahead (bench/page_data.py): the demo clinic has {t.get('demo_patients', 0):,} patients "
            f"(search is clinic-scoped); `q={page_data.TYPEAHEAD_QUERY}` matches {t.get('typeahead_matches', 0):,} "
            "of them, the dialog shows 8. The appointment card is the measured Wednesday's first booked one.",
            f"- Ledger (bench/ledger_data.py): {t.get('ledger_charges', 0):,} charges, one per completed appointment "
            f"in the past; the production report reads {' – '.join(t.get('production_year', ()))}.",
            f"- Booking: POST `/calendar/appointments` from an httpx.AsyncClient, {BOOKING_POSTS} posts from "
            f"{BOOKING_CLIENTS} concurrent clients, then {BOOKING_SEQUENTIAL_POSTS} from 1 client, after "
            f"{BOOKING_WARMUP_POSTS} warm-up posts; every post takes a distinct free slot (chair and provider "
            f"paired) after {targets.last_day}, so 303 is expected for each; rows are left in the bench database.",
        ]
    lines.append("")
    if kept:
        others = [f"{r.server} {m.rps:,.0f}" for r in runs if r is not kept and (m := r.measured(KEEP_BY)) and m.valid]
        lines.append(f"**Kept: {kept.server}** (faster on {KEEP_BY}: {kept.measured(KEEP_BY).rps:,.0f} req/s"
                     + (f" vs {', '.join(others)}" if others else "") + ")")
    else:
        lines.append(f"**Kept: none** (no server produced a valid {KEEP_BY} measurement)")
    lines += floor_warnings(runs)
    lines += ["", "## Ratio targets (loaded, from the speed issue)", ""] + ratio_targets_table(runs)
    if targets is not None:
        lines += ["", "## Calendar targets (p95 from the calendar issue)", "",
                  "Judged on the kept server. \"1 connection\" = wrk -t1 -c1 (pages) or 1 booking client; "
                  f"\"loaded\" = wrk -c{WRK_CONNECTIONS} (pages) or {BOOKING_CLIENTS} booking clients.", ""]
        lines += targets_table(runs, kept)
        lines += ["", "## Speed issue targets (1 connection p95)", "",
                  "Judged on the kept server at 1 connection (wrk -t1 -c1; booking: 1 client). The last "
                  f"{len(LOW_TRAFFIC)} rows are low-traffic pages, measured at 1 connection only, each with "
                  f"{LOW_TRAFFIC_TARGET_MS:.0f} ms (a page opened a few times a day).", ""]
        lines += speed_targets_table(runs, kept)
    for run in runs:
        lines += ["", f"## {run.server} {run.version} ({WORKERS} workers)", ""]
        if run.measurements:
            lines += [f"wrk {WRK_THREADS} threads, {WRK_CONNECTIONS} connections:", ""] + table(run)
        if run.low:
            lines += ["", f"wrk 1 thread, 1 connection, {LOW_SECONDS} s:", ""] + table(run, low=True)
        if run.bookings:
            lines += ["", "Booking (POST `/calendar/appointments`):", ""] + booking_table(run)
        if run.error:
            lines += ["", f"FAILED: {run.error}"]
            if run.log_tail:
                lines += ["", "```", run.log_tail, "```"]
    if analysis is not None:
        lines += profile_section(analysis)
        lines += actions_section(analysis, missed_targets(kept or next((r for r in runs if not r.error), None)))
    return "\n".join(lines) + "\n"


def write_results(text: str, path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


LOAD_AT_START = "not read"


def all_pages(url: str, targets: generate.DemoTargets) -> list[Page]:
    """Every measured page in report order, with the ids and dates of the bench data."""
    t = targets.totals
    pages = PAGES + calendar_pages(targets)
    pages += dialog_pages(targets, t["card_appointment"], page_data.TYPEAHEAD_QUERY)
    pages += chart_pages(t["chart_patient"]) + perio_pages(t["chart_patient"], t["perio_exam"])
    pages += perio_draft_pages(t["perio_draft_patient"], t["perio_draft"])
    pages += report_pages(t["production_year"])
    pages.append(Page("public free slots", asyncio.run(booking_data.booking_path(
        url, targets.clinic_id, targets.patients[0], DATA_DIR)), needs_sign_in=False, low_concurrency=True))
    return pages + low_traffic_pages(targets.clinic_id, t["chart_patient"])


def options(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="", help="a subset while developing: page names, comma-separated "
                        "(healthz is always measured; 'booking' adds the booking POSTs)")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated, of " + ", ".join(SERVERS)
                        + f"; a subset of pages or servers skips the profile and writes "
                        f"{SUBSET_RESULTS.relative_to(ROOT)}, not {RESULTS.relative_to(ROOT)}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    global LOAD_AT_START
    args = options(sys.argv[1:] if argv is None else argv)
    subset = {name.strip() for name in args.pages.split(",") if name.strip()}
    servers = [name for name in SERVERS if name in args.servers.split(",")]
    LOAD_AT_START = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is not installed (make bench installs it with apt-get)")
    started = datetime.now(timezone.utc)
    clock_started = time.monotonic()
    code = code_version()  # before anything is imported or served: others may commit while this runs
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        log_dir = Path(tmp)
        env = {"PORTAL_DATA_DIR": str(DATA_DIR), "PORTAL_LOG_DIR": str(log_dir / "portal"),
               **generate.BENCH_ENV}
        from portal import db

        try:
            say(f"preparing database {DATABASE} in {DATA_DIR.relative_to(ROOT)} ...")
            url, targets, data_seconds = prepare_database(env)
            pages = all_pages(url, targets)
            if subset:
                unknown = subset - {p.name for p in pages} - {"booking"}
                if unknown:
                    raise SystemExit(f"no such page: {', '.join(sorted(unknown))}")
                pages = [p for p in pages if p is BASELINE or p.name in subset]
            plan = SlotPlan(targets) if not subset or "booking" in subset else None
            partial = bool(subset) or servers != SERVERS
            server_env = {**os.environ, **env, "DATABASE_URL": url}
            runs = [bench_server(server, server_env, log_dir, pages, plan) for server in servers]
            analysis = None
            if not partial:
                say("profiling the week and day views in-process and recording each calendar action's SQL ...")
                analysis = analyse(targets, plan)
        finally:
            db.stop_embedded()
    text = report(runs, started, targets, data_seconds, analysis, code)
    text += f"\nTotal bench time: {time.monotonic() - clock_started:.0f} s.\n"
    written = write_results(text, SUBSET_RESULTS if partial else RESULTS)
    print()
    print(text)
    say(f"wrote {written} in {time.monotonic() - clock_started:.0f} s")


if __name__ == "__main__":
    main()
