"""Where the week view's server time goes, measured in one process on the bench database.

`python -m bench.profile` (or `bench.run`, which calls `profile_week`) runs, ITERATIONS times each:

- the whole request in-process (the real Litestar app through httpx.ASGITransport: middleware, session, guard,
  handler, Jinja, response; no sockets, no server), timed and once more under pyinstrument;
- the handler's parts on their own: `portal.agenda.week_view` (database + domain code), the handler's choice
  lists (`portal.views.calendar._choices`), and the Jinja render of calendar/week.html for the same data.

It also records every SQL statement the parts send (through Piccolo's engine), so that the database share can be
split from the Python share, and it can EXPLAIN (ANALYZE, BUFFERS) the statements of any calendar action.
pyinstrument is a bench-only tool: `.venv/bin/pip install pyinstrument` (not in pyproject.toml).
"""

import asyncio
import contextlib
import logging
import os
import re
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ITERATIONS = 200
WARMUP = 20
KINDS = ("week", "day")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# --- SQL capture and plans --------------------------------------------------------------------------------------

@dataclass
class Statement:
    sql: str
    args: list
    seconds: float

    @property
    def label(self) -> str:
        return statement_label(self.sql)


def statement_label(sql: str) -> str:
    """'SELECT appointment (+patient, staff, appointment_type)' style names for a compiled Piccolo statement."""
    verb = sql.lstrip().split(None, 1)[0].upper()
    if verb == "INSERT":
        table = re.search(r'INSERT INTO\s+"?(\w+)', sql)
        return f"INSERT {table.group(1) if table else '?'}"
    if verb in ("UPDATE", "DELETE"):
        table = re.search(r'(?:UPDATE|FROM)\s+"?(\w+)', sql)
        return f"{verb} {table.group(1) if table else '?'}"
    table = re.search(r'\bFROM\s+"?(\w+)', sql)
    joins = re.findall(r'JOIN\s+"(\w+)"', sql)
    return f"{verb} {table.group(1) if table else '?'}" + (f" (+{', '.join(joins)})" if joins else "")


@contextmanager
def capture_sql():
    """Record each statement Piccolo runs (compiled SQL, arguments, wall time including the round trip)."""
    from portal import db

    engine_class = type(db.engine())  # the engine has __slots__, so patch its class
    original = engine_class.run_querystring
    log: list[Statement] = []

    async def recording(self, querystring, in_pool: bool = True):
        sql, args = querystring.compile_string(engine_type=self.engine_type)
        started = time.perf_counter()
        try:
            return await original(self, querystring, in_pool=in_pool)
        finally:
            log.append(Statement(sql, list(args), time.perf_counter() - started))

    engine_class.run_querystring = recording
    try:
        yield log
    finally:
        engine_class.run_querystring = original


async def explain(sql: str, args: list) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) on a pool connection; writes run inside a transaction that is rolled back."""
    from portal import db

    connection = await db.engine().get_new_connection()
    try:
        transaction = connection.transaction()
        await transaction.start()
        try:
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *args)
        finally:
            await transaction.rollback()
    finally:
        await connection.close()
    return [r[0] for r in rows]


def bounded_variant(sql: str) -> str | None:
    """The appointment range query with a lower bound on starts_at too (appointments last at most 8 hours), so the
    (clinic, starts_at) index reads one window instead of the clinic's whole history; None when not applicable."""
    match = re.search(r'"appointment"\."ends_at" > (\$\d+)', sql)
    if not match or '"appointment"."starts_at" <' not in sql or '"appointment"."starts_at" >' in sql:
        return None
    return sql.replace(match.group(0), f"{match.group(0)} AND \"appointment\".\"starts_at\" > "
                                        f"{match.group(1)}::timestamptz - interval '8 hours'", 1)


# --- the week profile -------------------------------------------------------------------------------------------

@dataclass
class Part:
    name: str
    samples: list[float]  # seconds
    note: str = ""

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples) * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return sorted(self.samples)[int(0.95 * (len(self.samples) - 1))] * 1000


@dataclass
class PageProfile:
    kind: str  # week | day
    path: str
    iterations: int
    appointments_shown: int = 0
    html_bytes: int = 0
    parts: list[Part] = field(default_factory=list)
    queries: list[tuple[str, float, float]] = field(default_factory=list)  # label, calls per view, ms per view
    tree: list[tuple[str, float]] = field(default_factory=list)  # (part, % of profiled request time)
    profiled_ms: float = 0.0  # per request, with the profiler's own overhead
    hot: list[tuple[str, str, float]] = field(default_factory=list)  # function, where, % of profiled time
    text_file: str = ""
    html_file: str = ""
    error: str = ""

    def part(self, name: str) -> Part | None:
        return next((p for p in self.parts if p.name == name), None)



# Outermost frames that make up one request, by (function, a piece of the file path). Checked top-down; time is
# counted once, at the first match, so nested matches are not counted twice.
TREE_PARTS = [
    ("agenda.week_view (SQL + domain)", "week_view", "portal/calendar/agenda.py"),
    ("agenda.day_view (SQL + domain)", "day_view", "portal/calendar/agenda.py"),
    ("choice lists (_choices: types, providers, chairs)", "_choices", "portal/views/calendar.py"),
    ("Jinja render (Template.to_asgi_response)", "to_asgi_response", "litestar/response/template.py"),
    ("sign-in guard (session → actor)", "signed_in", "portal/views/guards.py"),
    ("session load/store", "load_from_connection", "session"),
    ("session load/store", "store_in_message", "session"),
]


def _split_tree(root, requests: int) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)

    def walk(frame) -> None:
        for name, function, where in TREE_PARTS:
            if frame.function == function and where in (frame.file_path or ""):
                totals[name] += frame.time
                return
        for child in frame.children:
            walk(child)

    walk(root)
    counted = sum(totals.values())
    total = root.time or 1.0
    rows = [(name, 100 * totals[name] / total) for name in dict.fromkeys(n for n, _, _ in TREE_PARTS)
            if totals[name]]
    rows.append(("everything else (middleware, routing, DI, response, logging, client)",
                 100 * max(0.0, root.time - counted) / total))
    return rows


def _is_ours(frame) -> bool:
    path = frame.file_path or ""
    return "/portal/" in path or "/templates/" in path


def _hot_functions(root, requests: int, limit: int = 14) -> list[tuple[str, str, float]]:
    """Time by the nearest portal function (or template) on the stack: library and database time below a portal
    frame counts for it, so `record_patients_shown` carries the Piccolo insert and its round trip."""
    owned: dict[tuple[str, str], float] = defaultdict(float)

    def walk(frame, owner) -> None:
        if _is_ours(frame) and not frame.is_synthetic:
            owner = (frame.function, frame.code_position_short() or "")
        own = frame.time - sum(c.time for c in frame.children)
        owned[owner] += own
        for child in frame.children:
            walk(child, owner)

    walk(root, ("(outside portal code: event loop, client, Litestar before the app's middleware)", ""))
    total = root.time or 1.0
    ranked = sorted(owned.items(), key=lambda kv: kv[1], reverse=True)[:limit]
    return [(fn, where, 100 * t / total) for (fn, where), t in ranked]


async def _timed(samples: list[float], factory, n: int):
    result = None
    for _ in range(n):
        started = time.perf_counter()
        result = await factory()
        samples.append(time.perf_counter() - started)
    return result


def _quiet_request_log(log_file: Path) -> None:
    """The app logs one JSON line per request to stderr; send those to a file, as the servers' logs are."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for handler in logging.getLogger("chairside").handlers:
        if type(handler) is logging.StreamHandler:
            handler.setStream(open(log_file, "a"))  # noqa: SIM115 - lives as long as the process


@contextlib.asynccontextmanager
async def _signed_in(app, email: str, password: str):
    """An in-process client signed in as `email`, on the configured public URL (the portal answers no other Host
    header: portal/links.allowed_hosts)."""
    import httpx

    from portal import links
    from portal.settings import Settings

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=links.public_base(Settings.from_env())) as client:
        form = await client.get("/login")
        tag = re.search(r'<input[^>]*name="_csrf_token"[^>]*>', form.text)
        token = re.search(r'value="([^"]*)"', tag.group(0)).group(1) if tag else ""
        signed = await client.post("/login", data={"_csrf_token": token, "email": email, "password": password,
                                                   "next": "/"})
        if signed.status_code != 303:
            raise RuntimeError(f"in-process sign-in answered {signed.status_code}: {signed.text[-1500:]}")
        yield client


def _getter(client, path: str):
    """GET `path`, refusing anything but 200 (a redirect to sign-in would time the wrong page)."""
    async def request():
        response = await client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"in-process GET {path} answered {response.status_code}")
        return response
    return request


async def profile_page(kind: str, owner_id: int, email: str, password: str, day: date, chair_id: int,
                       out_dir: Path = RESULTS_DIR, iterations: int = ITERATIONS) -> PageProfile:
    """`kind` "week" (one chair's week) or "day" (every chair). Needs the pool (portal.db.start_pool) and
    DATABASE_URL; see the module docstring."""
    from litestar.testing import RequestFactory
    from pyinstrument import Profiler

    from portal import auth, clock
    from portal.app import create_app
    from portal.calendar import agenda
    from portal.settings import Settings
    from portal.views import calendar, pages

    if kind == "week":
        path = f"/calendar/week?date={day.isoformat()}&chair={chair_id}"
    else:
        path = f"/calendar?date={day.isoformat()}"
    result = PageProfile(kind, path, iterations)
    actor = await auth.load_staff_actor(owner_id)
    app = create_app(Settings.from_env(), manage_pool=False)
    _quiet_request_log(Path(os.devnull))

    # 1. The whole request, in-process.
    async with _signed_in(app, email, password) as client:
        request = _getter(client, path)

        await _timed([], request, WARMUP)
        full = Part("whole request in-process (ASGI, no network)", [])
        page = await _timed(full.samples, request, iterations)
        result.html_bytes = len(page.content)

        profiler = Profiler(interval=0.001, async_mode="enabled")
        profiler.start()
        for _ in range(iterations):
            await request()
        session = profiler.stop()
    root = session.root_frame()
    if root is not None:
        result.profiled_ms = root.time * 1000 / iterations
        result.tree = _split_tree(root, iterations)
        result.hot = _hot_functions(root, iterations)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_file, html_file = out_dir / f"profile-{kind}.txt", out_dir / f"profile-{kind}.html"
    text_file.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    html_file.write_text(profiler.output_html())
    result.text_file, result.html_file = text_file.name, html_file.name

    # 2. The parts on their own, with the SQL they send (the same calls as CalendarController.week / .day).
    if kind == "week":
        domain = Part("agenda.week_view (SQL + domain)", [])
        call = lambda: agenda.week_view(actor, day, chair_id=chair_id)  # noqa: E731
    else:
        domain = Part("agenda.day_view (SQL + domain)", [])
        call = lambda: agenda.day_view(actor, day, 15)  # noqa: E731
    with capture_sql() as statements:
        view = await _timed(domain.samples, call, iterations)
    per_view: dict[str, list[float]] = defaultdict(list)
    for s in statements:
        per_view[s.label].append(s.seconds)
    result.queries = [(label, len(times) / iterations, sum(times) * 1000 / iterations)
                      for label, times in per_view.items()]
    sql_ms = sum(ms for _, _, ms in result.queries)
    domain.note = f"of which SQL round trips {sql_ms:.2f} ms, Python {max(0.0, domain.mean_ms - sql_ms):.2f} ms"
    result.appointments_shown = len(view["appointments"])
    parts = [domain]

    request = RequestFactory(app=app).get(path)
    request.state.actor = actor
    if kind == "week":
        choices = Part("choice lists (_choices: types, providers, chairs)", [])
        context = await _timed(choices.samples, lambda: calendar._choices(actor), iterations)
        parts.append(choices)
        name = "calendar/week.html"
        template = pages.render(request, name, view=view, provider=None, chair=chair_id, **context,
                              prev_week=view["monday"] - timedelta(days=7),
                              next_week=view["monday"] + timedelta(days=7))
    else:
        name = "calendar/day.html"
        template = pages.render(request, name, view=view, prev_day=day - timedelta(days=1),
                              next_day=day + timedelta(days=1), today=clock.today(actor.time_zone))
    jinja = app.template_engine.get_template(name)

    async def render():
        return jinja.render(**template.create_template_context(request)).encode()

    rendering = Part(f"Jinja render of {name} (same data)", [])
    await _timed([], render, WARMUP)
    await _timed(rendering.samples, render, iterations)
    parts.append(rendering)
    rest = full.mean_ms - sum(p.mean_ms for p in parts)
    full.note = f"rest (middleware, session, guard, routing, response, client) ≈ {max(0.0, rest):.2f} ms"
    result.parts = [full, *parts]
    return result


async def capture_action(factory) -> list[Statement]:
    """Run one calendar action (a coroutine factory) and return the statements it sent."""
    with capture_sql() as statements:
        await factory()
    return list(statements)


# --- any signed-in page ----------------------------------------------------------------------------------------

@dataclass
class PathProfile:
    path: str
    iterations: int
    html_bytes: int = 0
    whole: Part | None = None
    queries: list[tuple[str, float, float]] = field(default_factory=list)  # label, calls per request, ms
    tree: list[tuple[str, float]] = field(default_factory=list)
    hot: list[tuple[str, str, float]] = field(default_factory=list)
    cpu_ms: float = 0.0  # this process's CPU time per request (steady when other processes share the machine)

    @property
    def sql_ms(self) -> float:
        return sum(ms for _, _, ms in self.queries)

    @property
    def statements(self) -> float:
        return sum(calls for _, calls, _ in self.queries)


async def profile_path(path: str, email: str, password: str, iterations: int = ITERATIONS,
                       profiled: bool = True) -> PathProfile:
    """Any signed-in GET in-process: the whole request's time, the statements it sends (SQL share), and under
    pyinstrument the split (guard, session, Jinja, rest) and the portal functions that own the time."""
    from pyinstrument import Profiler

    from portal.app import create_app
    from portal.settings import Settings

    result = PathProfile(path, iterations)
    app = create_app(Settings.from_env(), manage_pool=False)
    _quiet_request_log(Path(os.devnull))
    async with _signed_in(app, email, password) as client:
        request = _getter(client, path)

        await _timed([], request, WARMUP)
        result.whole = Part("whole request in-process (ASGI, no network)", [])
        cpu = time.process_time()
        page = await _timed(result.whole.samples, request, iterations)
        result.cpu_ms = (time.process_time() - cpu) * 1000 / iterations
        result.html_bytes = len(page.content)
        with capture_sql() as statements:
            await _timed([], request, iterations)
        per: dict[str, list[float]] = defaultdict(list)
        for s in statements:
            per[s.label].append(s.seconds)
        result.queries = [(label, len(t) / iterations, sum(t) * 1000 / iterations) for label, t in per.items()]
        if profiled:
            profiler = Profiler(interval=0.001, async_mode="enabled")
            profiler.start()
            for _ in range(iterations):
                await request()
            root = profiler.stop().root_frame()
            if root is not None:
                result.tree = _split_tree(root, iterations)
                result.hot = _hot_functions(root, iterations)
    return result


def print_path_profile(result: PathProfile) -> None:
    w = result.whole
    print(f"{result.path}: {result.html_bytes:,} bytes; mean {w.mean_ms:.2f} ms p50 {w.p50_ms:.2f} p95 {w.p95_ms:.2f}"
          f"; {result.statements:.1f} statements, SQL {result.sql_ms:.2f} ms; CPU {result.cpu_ms:.2f} ms")
    for label, calls, ms in result.queries:
        print(f"    {label:<70} {calls:4.1f} x {ms:6.2f} ms")
    for name, pct in result.tree:
        print(f"    {name:<70} {pct:5.1f} %")
    for fn, where, pct in result.hot:
        print(f"    {pct:5.1f} %  {fn}  {where}")


# --- stand-alone --------------------------------------------------------------------------------------------------

def main() -> None:
    """Profile the week and day views against the bench database (generated first when missing)."""
    from bench import generate
    from portal import db

    try:
        url = generate.prepare({**generate.BENCH_ENV, "PORTAL_DEBUG": "0"})
        targets = asyncio.run(generate.ensure_data(url))

        async def go() -> list[PageProfile]:
            await db.start_pool(max_size=4)
            try:
                return [await profile_page(kind, targets.owner_id, generate.DEMO_EMAIL, "chairside-demo",
                                           targets.monday + timedelta(days=2), targets.chairs[0]["id"])
                        for kind in KINDS]
            finally:
                await db.close_pool()

        results = asyncio.run(go())
    finally:
        db.stop_embedded()
    for result in results:
        print(f"{result.path}: {result.appointments_shown} appointments, {result.html_bytes:,} bytes")
        for p in result.parts:
            print(f"  {p.name:<55} mean {p.mean_ms:7.2f} ms  p50 {p.p50_ms:7.2f}  p95 {p.p95_ms:7.2f}  {p.note}")
        print("  SQL per view:")
        for label, calls, ms in result.queries:
            print(f"    {label:<60} {calls:4.1f} x  {ms:6.2f} ms")
        print(f"  pyinstrument split ({result.profiled_ms:.1f} ms per profiled request):")
        for name, pct in result.tree:
            print(f"    {name:<70} {pct:5.1f} %")
        print("  time by nearest portal function:")
        for fn, where, pct in result.hot:
            print(f"    {pct:5.1f} %  {fn}  {where}")


if __name__ == "__main__":
    main()
