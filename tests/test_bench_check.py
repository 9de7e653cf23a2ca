"""`make bench-check` flags a ratio more than 20 % worse than the committed run, and nothing else."""

from bench.check import compare, ratios

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
