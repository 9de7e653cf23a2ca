"""The public booking page for the bench: online booking switched on for the demo clinic's first two types, and a
recall link for one of its patients, signed with the bench data directory's secret (the one the served portal reads).
"""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import asyncpg

from portal.recall import tokens
from portal.settings import _secret_key


async def booking_path(url: str, clinic_id: int, patient_id: int, data_dir: Path) -> str:
    """`/book/<token>` for `patient_id`, after enabling online booking (six weeks ahead, 12 h lead time)."""
    conn = await asyncpg.connect(url)
    try:
        types = [r["id"] for r in await conn.fetch(
            "SELECT id FROM appointment_type WHERE clinic = $1 AND active ORDER BY id LIMIT 2", clinic_id)]
        await conn.execute(
            "INSERT INTO online_booking (clinic, enabled, appointment_types) VALUES ($1, true, $2) "
            "ON CONFLICT (clinic) DO UPDATE SET enabled = true, appointment_types = EXCLUDED.appointment_types",
            clinic_id, types)
    finally:
        await conn.close()
    expires = datetime.now(timezone.utc) + timedelta(days=30)
    return f"/book/{tokens.make(_secret_key(data_dir), 'recall', clinic_id, patient_id, expires)}"
