"""What the speed issue's added bench pages need from the bench data: 100k patients to search, a card to open.

The speed issue measures the booking dialog's patient typeahead "over 100k patients", and patient search is scoped to
the signed-in clinic, so the demo clinic is topped up to SEARCH_PATIENTS patients with one INSERT ... SELECT over
generate_series (seconds; a later run finds them and adds nothing). They get the generator's given and family names,
so a three-letter prefix of a common family name matches thousands of them, as at a big clinic. They have no
appointments, accounts or history: only the typeahead and the pages that read every patient of the clinic see them.
"""

import os
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from bench import generate

SEARCH_PATIENTS = 100_000  # the demo clinic's patients after the top-up
EMAIL_MARK = "bench-search-"  # their e-mail addresses start with it (counting them makes the step idempotent)
TYPEAHEAD_QUERY = "Jan"  # what a receptionist types: the first three letters of Jansen and Janssens


def say(message: str) -> None:
    print(f"[page data] {message}", flush=True)


async def ensure_search_patients(url: str, clinic_id: int) -> int:
    """Top the demo clinic up to SEARCH_PATIENTS patients; the clinic's patient count."""
    conn = await asyncpg.connect(url)
    try:
        have = await conn.fetchval("SELECT count(*) FROM patient WHERE clinic = $1", clinic_id)
        if have >= SEARCH_PATIENTS:
            return have
        started = time.monotonic()
        first = await conn.fetchval("SELECT count(*) FROM patient WHERE clinic = $1 AND email LIKE $2",
                                    clinic_id, EMAIL_MARK + "%")
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO patient (clinic, given_name, family_name, date_of_birth, email, phone_mobile, "
                "preferred_language, created_at, updated_at) "
                "SELECT $1::int, ($2::text[])[1 + ((n * 7919) % cardinality($2::text[]))::int], "
                "($3::text[])[1 + ((n * 104729) % cardinality($3::text[]))::int], "
                "date '1935-01-01' + ((n * 3571) % 31000)::int, $4::text || $1::int || '.' || n || '@example.org', "
                "'+316' || (10000000 + (n * 15485863) % 90000000), 'nl', "
                "made, made FROM generate_series($5::bigint, $6::bigint) AS n, "
                "LATERAL (SELECT now() - make_interval(days => (30 + n % 3570)::int) AS made) AS created",
                clinic_id, generate.GIVEN, generate.FAMILY, EMAIL_MARK, first, first + SEARCH_PATIENTS - have - 1)
        owner = await asyncpg.connect(os.environ.get("MIGRATION_DATABASE_URL") or url)  # only the owner may ANALYZE
        try:
            await owner.execute("ANALYZE patient")
        finally:
            await owner.close()
        say(f"demo clinic: {SEARCH_PATIENTS - have:,} patients added for the typeahead "
            f"in {time.monotonic() - started:.1f} s")
        return SEARCH_PATIENTS
    finally:
        await conn.close()


async def typeahead_matches(url: str, clinic_id: int, query: str = TYPEAHEAD_QUERY) -> int:
    """How many of the clinic's patients have a name word starting with `query` (the typeahead shows 8 of them)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM patient WHERE clinic = $1 AND isolated_at IS NULL AND search_name @@ "
            "to_tsquery('simple', fold_text($2) || ':*')", clinic_id, query)
    finally:
        await conn.close()


async def card_appointment(url: str, clinic_id: int, zone: str, day: date) -> int:
    """The first booked or confirmed appointment of `day` (the measured Wednesday): the card the bench opens."""
    tz = ZoneInfo(zone)
    lo, hi = generate._local_midnight_utc(tz, day), generate._local_midnight_utc(tz, day + timedelta(days=1))
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT id FROM appointment WHERE clinic = $1 AND starts_at >= $2 AND starts_at < $3 "
            "AND status IN ('booked', 'confirmed') ORDER BY starts_at, id LIMIT 1", clinic_id, lo, hi)
        if found is None:  # a week already past: any appointment of the day
            found = await conn.fetchval("SELECT id FROM appointment WHERE clinic = $1 AND starts_at >= $2 "
                                        "AND starts_at < $3 ORDER BY starts_at, id LIMIT 1", clinic_id, lo, hi)
        return found
    finally:
        await conn.close()
