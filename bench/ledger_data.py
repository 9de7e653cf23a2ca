"""The bench ledger: every clinic's completed appointments charged once (about 900,000 entries over ten years), so
the production report reads a year of a clinic out of a ledger the size of the 1M-appointment data set.

Made once with set-based SQL (an account per patient that has none, then one charge per completed appointment
that ended in the past, except the ten-year chart patient's, whose own ledger the account page bench reads); a
later run finds the marker code and leaves it alone.
"""

import time

import asyncpg

from bench.chart_data import MARKER  # the ten-year patient keeps the account the account page is measured on

CODE = "BENCH-C"  # the fee code of every generated charge (the marker)


def say(message: str) -> None:
    print(f"[ledger data] {message}", flush=True)


async def ensure_ledger(url: str) -> int:
    """The number of generated charges, generating them on first use."""
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval("SELECT count(*) FROM ledger_entry WHERE code = $1", CODE)
        if found:
            return found
        started = time.monotonic()
        async with conn.transaction():
            await conn.execute(
                "WITH opened AS (INSERT INTO billing_account (clinic, kind, guarantor, name) "
                "SELECT p.clinic, 'patient', p.id, p.given_name || ' ' || p.family_name FROM patient p "
                "WHERE NOT EXISTS (SELECT 1 FROM billing_member m WHERE m.patient = p.id) RETURNING id, clinic, "
                "guarantor) INSERT INTO billing_member (clinic, patient, account) "
                "SELECT clinic, guarantor, id FROM opened")
            made = await conn.fetchval(
                "WITH charged AS (INSERT INTO ledger_entry (clinic, account, patient, kind, amount, code, description, "
                "provider, recorded_by_name, at) SELECT a.clinic, m.account, a.patient, 'charge', "
                "35.00 + (a.id % 8) * 12.50, $1, t.name, a.provider, 'bench', a.ends_at "
                "FROM appointment a JOIN billing_member m ON m.patient = a.patient "
                "JOIN appointment_type t ON t.id = a.appointment_type "
                "JOIN patient p ON p.id = a.patient WHERE a.status = 'completed' AND a.ends_at < now() "
                "AND p.national_id IS DISTINCT FROM $2 RETURNING 1) SELECT count(*) FROM charged", CODE, MARKER)
        await conn.execute("ANALYZE ledger_entry")
        say(f"{made:,} charges in {time.monotonic() - started:.1f} s")
        return made
    finally:
        await conn.close()


async def production_year(url: str, clinic_id: int) -> tuple[str, str]:
    """The last full year with charges in the clinic, as the report's start and end (ISO dates)."""
    conn = await asyncpg.connect(url)
    try:
        latest = await conn.fetchval("SELECT max(at) FROM ledger_entry WHERE clinic = $1 AND code = $2",
                                     clinic_id, CODE)
    finally:
        await conn.close()
    year = (latest.year - 1) if latest else 2025
    return f"{year}-01-01", f"{year}-12-31"
