"""Bench: issuing an invoice on the bench database (the demo clinic among 50, one ledger charge per completed
appointment from bench/ledger_data.py, none invoiced yet).

`python -m bench.invoicing` calls the same domain function the account page's "Issue an invoice" button calls
(`invoices.issue`, in-process, no HTTP: add the signed-in floor for a page figure), for one patient at a time with
their latest visit's charge, then 20 at once for 20 other patients, and checks that the 20 numbers are gapless.
Target (issue 17): p95 <= 50 ms. Each run invoices 140 more patients; the rows stay (like the bench's bookings).
Results: bench/results/invoicing.md.
"""

import asyncio
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import generate, ledger_data

SEQUENTIAL, CONCURRENT, WARM_UP = 100, 20, 20
TARGET_MS = 50.0
RESULTS = Path(__file__).resolve().parent / "results" / "invoicing.md"


async def _patients(clinic_id: int, count: int) -> list[tuple[int, int]]:
    """(patient, latest uninvoiced charge) of patients of the clinic who have never been invoiced."""
    from portal.tables import LedgerEntry

    rows = await LedgerEntry.raw(
        "SELECT DISTINCT ON (e.patient) e.patient, e.id FROM ledger_entry e WHERE e.clinic = {} AND e.kind = 'charge' "
        "AND NOT EXISTS (SELECT 1 FROM invoice i WHERE i.account = e.account) ORDER BY e.patient, e.at DESC LIMIT {}",
        clinic_id, count)
    return [(r["patient"], r["id"]) for r in rows]


async def _measure(owner_id: int, clinic_id: int) -> dict:
    from portal import auth, db
    from portal.billing import invoices
    from portal.tables import Invoice

    await db.start_pool(max_size=CONCURRENT + 2)
    try:
        actor = await auth.load_staff_actor(owner_id)
        chosen = await _patients(clinic_id, WARM_UP + SEQUENTIAL + CONCURRENT)
        if len(chosen) < WARM_UP + SEQUENTIAL + CONCURRENT:
            raise RuntimeError(f"only {len(chosen)} patients without an invoice are left: regenerate the bench data")
        for patient, charge in chosen[:WARM_UP]:
            await invoices.issue(actor, patient, [charge])
        timings = []
        for patient, charge in chosen[WARM_UP:WARM_UP + SEQUENTIAL]:
            started = time.perf_counter()
            await invoices.issue(actor, patient, [charge])
            timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        ids = await asyncio.gather(*(invoices.issue(actor, patient, [charge])
                                     for patient, charge in chosen[WARM_UP + SEQUENTIAL:]))
        together_ms = (time.perf_counter() - started) * 1000
        seqs = sorted(r["seq"] for r in await Invoice.select(Invoice.seq).where(Invoice.id.is_in(list(ids))))
        gapless = seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    finally:
        await db.close_pool()
    ordered = sorted(timings)
    return {"p50": statistics.median(ordered), "p95": ordered[int(len(ordered) * 0.95) - 1], "max": ordered[-1],
            "together_ms": together_ms, "gapless": gapless, "numbers": (seqs[0], seqs[-1])}


def _report(found: dict, load: tuple[float, float, float], code: str) -> str:
    verdict = "**met**" if found["p95"] <= TARGET_MS else "**missed**"
    return "\n".join([
        "# Issuing an invoice", "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; code `{code}`; load at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
        "- `invoices.issue` in-process on the bench database (no HTTP; the account page's button adds the signed-in "
        "floor), one visit's charge per invoice, each for a patient never invoiced before.", "",
        "| Measure | Figure | Target | Verdict |", "|---|---:|---:|---|",
        f"| one at a time, {SEQUENTIAL} invoices: p50 | {found['p50']:.1f} ms | | |",
        f"| one at a time: p95 | {found['p95']:.1f} ms | ≤ {TARGET_MS:.0f} ms | {verdict} |",
        f"| one at a time: worst | {found['max']:.1f} ms | | |",
        f"| {CONCURRENT} at once (one clinic's counter row): all done in | {found['together_ms']:.0f} ms | | |",
        f"| the {CONCURRENT} numbers gapless | {'yes' if found['gapless'] else 'NO'} "
        f"({found['numbers'][0]}–{found['numbers'][1]}) | gapless | "
        f"{'**met**' if found['gapless'] else '**missed**'} |", ""])


def main() -> None:
    import subprocess

    from portal import db

    load = os.getloadavg()
    code = subprocess.run(["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    try:
        url = generate.prepare({"PORTAL_DATA_DIR": str(generate.DATA_DIR), **generate.BENCH_ENV})
        targets = asyncio.run(generate.ensure_data(url))
        asyncio.run(ledger_data.ensure_ledger(url))
        found = asyncio.run(_measure(targets.owner_id, targets.clinic_id))
    finally:
        db.stop_embedded()
    RESULTS.write_text(_report(found, load, code))
    print(RESULTS.read_text(), flush=True)


if __name__ == "__main__":
    main()
