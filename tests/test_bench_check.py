"""`make bench-check` flags a ratio more than 20 % worse than the committed run, and nothing else."""

from datetime import date

from bench import generate, run
from bench.check import compare, ratios, uncompared

REPORT = """# Chairside benchmark

## uvicorn 0.54.0 (2 workers)

wrk 2 threads, 32 connections:

| Page | Path | req/s | p50 ms | p95 ms | p99 ms | ratio to /healthz | KB (gzip) | Status |
|---|---|---:|---:|---:|---:|---:|---:|---|
| healthz | `/healthz` | 6,413 | 4.84 | 6.65 | 8.49 | 1.000 | 0.1 (0.1) | ok |
| dashboard | `/` | 591 | 50.85 | 78.19 | 92.86 | {dashboard} | 9.0 (2.5) | ok |
| calendar day | `/calendar` | 115 | 249.83 | 449.74 | 532.63 | {day} | 110.0 (12.0) | ok |

wrk 1 thread, 1 connection, 5 s:

| Page | Path | req/s | p50 ms | p95 ms | p99 ms | ratio to /healthz | KB (gzip) | Status |
|---|---|---:|---:|---:|---:|---:|---:|---|
| calendar day | `/calendar` | 52 | 17.67 | 25.69 | 27.64 | {day_low} | 110.0 (12.0) | ok |

## Calendar actions in-process: SQL vs Python

| dashboard | 1 | 2 | 3 | 4 | 5 | 0.500 | x | ok |
"""


def test_only_a_ratio_more_than_a_fifth_worse_is_flagged():
    old = ratios(REPORT.format(dashboard="0.100", day="0.020", day_low="0.016"))
    new = ratios(REPORT.format(dashboard="0.079", day="0.017", day_low="0.020"))
    assert old[("uvicorn", "loaded", "dashboard")] == 0.1 and len(old) == 4
    worse = compare(old, new)
    assert worse == ["uvicorn loaded dashboard: ratio 0.079 vs 0.100 committed (21 % worse)"]


def test_a_page_without_a_committed_ratio_is_named_not_skipped():
    old = ratios(REPORT.format(dashboard="0.100", day="0.020", day_low="0.016"))
    new = dict(old) | {("uvicorn", "1 connection", "recall list"): 0.05}
    assert compare(old, new) == []
    assert uncompared(old, new) == ["uvicorn 1 connection recall list: ratio 0.050, nothing committed to compare with"]


def _run(server: str, low: dict[str, float], loaded: dict[str, float] | None = None) -> run.ServerRun:
    """A server run with valid measurements: page name -> p95 ms (1 connection) and req/s (loaded)."""
    def measured(name: str, p95: float, rps: float) -> run.Measurement:
        return run.Measurement(run.Page(name, f"/{name.replace(' ', '-')}", needs_sign_in=True), rps=rps,
                               p95_ms=p95, requests=100, html_bytes=2048, gzip_bytes=512)

    result = run.ServerRun(server, "1.0")
    result.low = [measured("healthz", 0.5, 2000)] + [measured(n, p95, 1000 / p95) for n, p95 in low.items()]
    result.measurements = [measured("healthz", 5, 2000)] + [measured(n, 50, rps) for n, rps in (loaded or {}).items()]
    return result


def test_a_page_measured_at_one_connection_only_has_its_ratio_compared():
    """The low-traffic pages have no loaded row: their 1-connection ratio still reaches make bench-check."""
    server = _run("uvicorn", {"recall list": 20.0})
    text = "\n".join(["## uvicorn 1.0 (2 workers)", "", "wrk 1 thread, 1 connection, 5 s:", "",
                      *run.table(server, low=True)])
    assert ratios(text) == {("uvicorn", "1 connection", "healthz"): 1.0,
                            ("uvicorn", "1 connection", "recall list"): 0.025}


def test_speed_targets_are_judged_on_the_kept_server_at_one_connection():
    kept = _run("granian", {"signed-in floor": 1.4, "booking dialog": 5.5, "recall list": 49.0},
                loaded={"dashboard": 400})
    other = _run("uvicorn", {"signed-in floor": 9.0}, loaded={"dashboard": 100})
    assert run.kept_server([other, kept]) is kept
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.strip("|").split("|")]
            for r in run.speed_targets_table([other, kept], kept)[2:]}
    assert rows["signed-in floor"] == ["signed-in floor", "≤ 1.5 ms", "—", "1.40", "**met**", "9.00"]
    assert rows["booking dialog"][3:5] == ["5.50", "**missed**"]
    assert rows["calendar day"][1:5] == ["≤ 10 ms", "≤ 20 ms", "—", "no valid figure"]
    assert rows["recall list"][1:5] == ["≤ 50 ms", "—", "49.00", "**met**"]
    assert set(run.LOW_TRAFFIC) <= rows.keys() and set(run.SPEED_TARGETS) <= rows.keys()


def test_every_target_names_a_measured_page():
    """A target whose page is misnamed would only ever say "no valid figure"."""
    targets = generate.DemoTargets(clinic_id=1, zone="Europe/Amsterdam", owner_id=1, chairs=[{"id": 3}], providers=[],
                                   types=[{"id": 5, "name": "Check-up"}], opening={}, monday=date(2026, 11, 30))
    pages = (run.PAGES + run.calendar_pages(targets) + run.dialog_pages(targets, 7, "Jan") + run.chart_pages(9)
             + run.perio_pages(9, 2) + run.perio_draft_pages(11, 3) + run.report_pages(("2025-01-01", "2025-12-31"))
             + run.low_traffic_pages(1, 9) + [run.Page("public free slots", "/book/x", needs_sign_in=False)])
    names = {p.name for p in pages}
    one_connection = {p.name for p in pages if p.low_concurrency} | {"booking"}
    loaded = {p.name for p in pages if p.loaded}
    assert set(run.SPEED_TARGETS) | set(run.LOW_TRAFFIC) <= one_connection
    assert set(run.RATIO_TARGETS) <= loaded
    assert set(run.TARGETS) <= names | {"booking"}
    assert not {p.name for p in pages if p.name in run.LOW_TRAFFIC and p.loaded}
    dialog = next(p for p in pages if p.name == "booking dialog")
    assert "HX-Request: true" in dialog.headers and dialog.path.startswith("/calendar/book?")
