"""A patient with ten years of history for the chart benchmark: 200 visits, 500 notes, 1,000 findings,
300 images, 10 history versions and 20 plans, made once in the demo clinic with set-based SQL (seconds)."""

import asyncpg

MARKER = "BENCH-10Y"  # national_id of the benchmark patient
FDI_TEETH = [q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9)]
SURFACE_SETS = ["O", "MO", "OD", "MOD", "B", "L", "M", "D", "MODBL", ""]
KINDS = ["caries", "filling", "sealant", "crown", "root_canal", "missing", "implant", "fracture", "bridge"]
IMAGE_ROWS = 300
PERIO_EXAMS = 20


def say(message: str) -> None:
    print(f"[chart data] {message}", flush=True)


async def ensure_chart_patient(url: str, clinic_id: int) -> int:
    """The benchmark patient's id, creating them and their history on first use."""
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval("SELECT id FROM patient WHERE clinic = $1 AND national_id = $2", clinic_id, MARKER)
        if found:
            await _ensure_images(conn, clinic_id, found)
            await _ensure_perio(conn, clinic_id, found)
            await _ensure_ledger(conn, clinic_id, found)
            return found
        async with conn.transaction():
            patient_id = await _create(conn, clinic_id)
            await _ensure_images(conn, clinic_id, patient_id)
            await _ensure_perio(conn, clinic_id, patient_id)
            await _ensure_ledger(conn, clinic_id, patient_id)
        await conn.execute("ANALYZE")
        return patient_id
    finally:
        await conn.close()


async def _create(conn: asyncpg.Connection, clinic_id: int) -> int:
    dentist = await conn.fetchrow("SELECT id, name FROM staff WHERE clinic = $1 AND role = 'dentist' "
                                  "ORDER BY id LIMIT 1",
                                  clinic_id)
    chair = await conn.fetchval("SELECT id FROM chair WHERE clinic = $1 ORDER BY id LIMIT 1", clinic_id)
    kind = await conn.fetchval("SELECT id FROM appointment_type WHERE clinic = $1 ORDER BY id LIMIT 1", clinic_id)
    patient_id = await conn.fetchval(
        "INSERT INTO patient (clinic, given_name, family_name, date_of_birth, national_id, email, phone_mobile, "
        "created_at, updated_at) VALUES ($1, 'Tien', 'Jaar', '1970-05-05', $2, 'tien.jaar@example.org', "
        "'+31612000000', now() - interval '10 years', now()) RETURNING id", clinic_id, MARKER)
    # Visits at 05:00 UTC every 18 days: outside opening hours, so they never meet generated bookings.
    await conn.execute(
        "INSERT INTO appointment (clinic, patient, provider, chair, appointment_type, starts_at, ends_at, status, "
        "notes, created_at, updated_at) SELECT $1, $2, $3, $4, $5, ts, ts + interval '30 minutes', 'completed', '', "
        "ts, ts FROM (SELECT date_trunc('day', now()) - (i * interval '18 days') + interval '5 hours' AS ts "
        "FROM generate_series(1, 200) AS i) AS visits", clinic_id, patient_id, dentist["id"], chair, kind)
    await conn.execute(
        "INSERT INTO clinical_note (clinic, patient, template, body, author, author_name, author_role, content_hash, "
        "signed_at) SELECT $1, $2, (ARRAY['exam', 'hygiene', 'treatment'])[1 + i % 3], "
        "'Visit ' || i || ': findings as charted. Patient informed, no complications. Recall in six months.', $3, $4, "
        "'dentist', md5(i::text) || md5((i + 1)::text), now() - (i * interval '7 days') "
        "FROM generate_series(1, 500) AS i", clinic_id, patient_id, dentist["id"], dentist["name"])
    await conn.execute(
        "INSERT INTO tooth_finding (clinic, patient, tooth, surfaces, kind, state, recorded_by, recorded_by_name, "
        "recorded_at) SELECT $1, $2, ($3::int[])[1 + i % 32], CASE WHEN k IN ('caries', 'filling', 'sealant') "
        "THEN coalesce(nullif(($4::text[])[1 + i % 9], ''), 'O') ELSE '' END, k, "
        "(ARRAY['existing', 'planned', 'completed'])[1 + i % 3], $5, $6, now() - (i * interval '3 days') "
        "FROM (SELECT i, ($7::text[])[1 + i % 9] AS k FROM generate_series(1, 1000) AS i) AS f",
        clinic_id, patient_id, FDI_TEETH, SURFACE_SETS, dentist["id"], dentist["name"], KINDS)
    for version in range(1, 11):
        await conn.execute(
            "INSERT INTO medical_history (clinic, patient, version, medications, allergies, recorded_by, "
            "recorded_by_name, recorded_at) VALUES ($1, $2, $3, 'Metformin 500 mg', 'Penicillin', $4, $5, "
            "now() - ($6 * interval '1 year'))", clinic_id, patient_id, version, dentist["id"], dentist["name"],
            11 - version)
    await conn.execute("INSERT INTO medical_alert (clinic, patient, label, severity, source, history_version, "
                       "created_at) VALUES ($1, $2, 'Penicillin allergy', 'high', 'history', 10, now())",
                       clinic_id, patient_id)
    for plan in range(20):
        plan_id = await conn.fetchval(
            "INSERT INTO treatment_plan (clinic, patient, title, status, currency, created_by, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'completed', 'EUR', $4, now() - ($5 * interval '6 months'), now()) RETURNING id",
            clinic_id, patient_id, f"Plan {plan + 1}", dentist["id"], plan)
        await conn.execute(
            "INSERT INTO plan_item (clinic, plan, phase, code, description, fee, charts_as, tooth, surfaces, status) "
            "SELECT $1, $2, 1 + i % 2, 'FI2', 'Filling, two surfaces', 105.00, 'filling', ($3::int[])[1 + i], 'MO', "
            "'completed' FROM generate_series(1, 3) AS i", clinic_id, plan_id, FDI_TEETH)
    say(f"benchmark patient {patient_id}: 200 visits, 500 notes, 1,000 findings, 10 history versions, 20 plans")
    return patient_id


async def _ensure_perio(conn: asyncpg.Connection, clinic_id: int, patient_id: int) -> None:
    """Twenty signed full-mouth perio exams, two a year (teeth written while a draft: signed teeth are immutable)."""
    if await conn.fetchval("SELECT count(*) FROM perio_exam WHERE patient = $1", patient_id) >= PERIO_EXAMS:
        return
    staff = await conn.fetchrow("SELECT id, name FROM staff WHERE clinic = $1 AND role = 'dentist' ORDER BY id LIMIT 1",
                                clinic_id)
    for n in range(PERIO_EXAMS):
        exam_id = await conn.fetchval(
            "INSERT INTO perio_exam (clinic, patient, teeth, created_by, created_by_name, created_at) "
            "VALUES ($1, $2, $3, $4, $5, now() - ($6 * interval '6 months')) RETURNING id",
            clinic_id, patient_id, FDI_TEETH, staff["id"], staff["name"], PERIO_EXAMS - n)
        await conn.execute(
            "INSERT INTO perio_tooth (clinic, exam, tooth, depths, margins, bleeding, suppuration, plaque, calculus, "
            "recorded_by, recorded_at) SELECT $1, $2, t, ARRAY[2 + (t + $3) % 4, 2, 3, 3, 2, 2 + t % 3]::smallint[], "
            "ARRAY[0, 0, -1, 0, 0, 0]::smallint[], ARRAY[t % 3 = 0, false, true, false, false, false], "
            "ARRAY[false, false, false, false, false, false], ARRAY[t % 2 = 0, false, false, true, false, false], "
            "ARRAY[false, false, false, false, false, false], $4, now() FROM unnest($5::int[]) AS t",
            clinic_id, exam_id, n, staff["id"], FDI_TEETH)
        await conn.execute(
            "UPDATE perio_exam SET signed_at = created_at, signed_by = $2, signed_by_name = $3, signed_by_role = "
            "'dentist', content_hash = md5(id::text) || md5((id + 1)::text), stage = 'II', grade = 'B' WHERE id = $1",
            exam_id, staff["id"], staff["name"])
    say(f"benchmark patient {patient_id}: {PERIO_EXAMS} signed perio exams")


async def latest_perio_exam(url: str, patient_id: int) -> int:
    """The newest signed exam (the ten-year patient has no draft: that is another patient's, `perio_draft`)."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SELECT max(id) FROM perio_exam WHERE patient = $1 AND signed_at IS NOT NULL",
                                   patient_id)
    finally:
        await conn.close()


DRAFT_MARKER = "BENCH-PERIO-DRAFT"  # national_id of the patient whose exam is half charted


async def perio_draft(url: str, clinic_id: int) -> tuple[int, int]:
    """(patient id, exam id) of a draft full-mouth exam with 16 of its 32 teeth recorded, as a hygienist leaves it
    halfway: the page with a form per tooth that charting uses. Made once, on a patient of its own, so the signed
    exams and their comparison stay what they measure."""
    conn = await asyncpg.connect(url)
    try:
        patient_id = await conn.fetchval("SELECT id FROM patient WHERE clinic = $1 AND national_id = $2",
                                         clinic_id, DRAFT_MARKER)
        if patient_id is None:
            patient_id = await conn.fetchval(
                "INSERT INTO patient (clinic, given_name, family_name, date_of_birth, national_id, created_at) "
                "VALUES ($1, 'Perio', 'Draft', '1970-05-05', $2, now()) RETURNING id", clinic_id, DRAFT_MARKER)
        exam_id = await conn.fetchval("SELECT id FROM perio_exam WHERE patient = $1 AND signed_at IS NULL",
                                      patient_id)
        if exam_id is None:
            staff = await conn.fetchrow(
                "SELECT id, name FROM staff WHERE clinic = $1 AND role = 'dentist' ORDER BY id LIMIT 1", clinic_id)
            exam_id = await conn.fetchval(
                "INSERT INTO perio_exam (clinic, patient, teeth, created_by, created_by_name, created_at) "
                "VALUES ($1, $2, $3, $4, $5, now()) RETURNING id", clinic_id, patient_id, FDI_TEETH, staff["id"],
                staff["name"])
            await conn.execute(
                "INSERT INTO perio_tooth (clinic, exam, tooth, depths, margins, bleeding, suppuration, plaque, "
                "calculus, recorded_by, recorded_at) SELECT $1, $2, t, ARRAY[3, 2, 3, 4, 2, 3]::smallint[], "
                "ARRAY[0, 0, -1, 0, 0, 0]::smallint[], ARRAY[t % 3 = 0, false, true, false, false, false], "
                "ARRAY[false, false, false, false, false, false], ARRAY[t % 2 = 0, false, false, true, false, false], "
                "ARRAY[false, false, false, false, false, false], $3, now() FROM unnest($4::int[]) AS t",
                clinic_id, exam_id, staff["id"], FDI_TEETH[:16])
            say(f"perio draft: patient {patient_id}, exam {exam_id} with 16 of 32 teeth recorded")
        return patient_id, exam_id
    finally:
        await conn.close()


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (64, 48), 128).save(out, "PNG")
    return out.getvalue()


async def _ensure_images(conn: asyncpg.Connection, clinic_id: int, patient_id: int) -> None:
    """300 X-rays and photos over ten years (small real PNGs: the chart reads metadata and thumbnails only)."""
    have = await conn.fetchval("SELECT count(*) FROM patient_image WHERE patient = $1", patient_id)
    if have >= IMAGE_ROWS:
        return
    png = _tiny_png()
    ids = await conn.fetch(
        "INSERT INTO patient_image (clinic, patient, kind, format, content_type, original_name, byte_size, width, "
        "height, taken_on, teeth) SELECT $1, $2, (ARRAY['xray', 'photo'])[1 + i % 2], 'png', 'image/png', "
        "'bench-' || i || '.png', $3, 64, 48, (now() - (i * interval '12 days'))::date, '36 37' "
        "FROM generate_series(1, $4) AS i RETURNING id", clinic_id, patient_id, len(png), IMAGE_ROWS - have)
    await conn.copy_records_to_table(
        "patient_image_blob", columns=("image", "rendition", "content_type", "data"),
        records=[(r["id"], rendition, "image/png", png) for r in ids for rendition in ("original", "thumbnail")])
    say(f"benchmark patient {patient_id}: {len(ids)} images")


async def _ensure_ledger(conn: asyncpg.Connection, clinic_id: int, patient_id: int) -> None:
    """Ten years of money for the account page: 200 charges, 40 invoices of five, 190 payments (card and cash)."""
    if await conn.fetchval("SELECT 1 FROM billing_member WHERE patient = $1", patient_id):
        return
    account = await conn.fetchval("INSERT INTO billing_account (clinic, kind, guarantor, name) VALUES "
                                  "($1, 'patient', $2, 'Tien Jaar') RETURNING id", clinic_id, patient_id)
    await conn.execute("INSERT INTO billing_member (clinic, patient, account) VALUES ($1, $2, $3)",
                       clinic_id, patient_id, account)
    await conn.execute(
        "INSERT INTO ledger_entry (clinic, account, patient, kind, amount, code, description, at) "
        "SELECT $1, $2, $3, 'charge', 105.00, 'FI2', 'Filling, two surfaces', now() - (i * interval '18 days') "
        "FROM generate_series(1, 200) AS i", clinic_id, account, patient_id)
    await conn.execute(
        "INSERT INTO ledger_entry (clinic, account, patient, kind, amount, method, at) SELECT $1, $2, $3, "
        "'payment', -105.00, (ARRAY['card', 'cash'])[1 + i % 2], now() - (i * interval '18 days') + interval '1 hour' "
        "FROM generate_series(11, 200) AS i", clinic_id, account, patient_id)
    for n in range(40):
        year = 2016 + n // 4
        invoice = await conn.fetchval(
            "INSERT INTO invoice (clinic, account, year, seq, number, issued_at, due_on, currency, total, vat_total, "
            "bill_to, seller_name) VALUES ($1, $2, $3, 90000 + $4, $5, now(), current_date, 'EUR', 525.00, 0, "
            "'Tien Jaar', 'Bench') RETURNING id", clinic_id, account, year, n, f"{year}-B{n:03d}")
        await conn.execute(
            "INSERT INTO invoice_line (clinic, invoice, entry, code, description, performed_on, amount) "
            "SELECT $1, $2, id, code, description, at::date, amount FROM ledger_entry WHERE account = $3 "
            "AND kind = 'charge' ORDER BY id OFFSET $4 LIMIT 5", clinic_id, invoice, account, n * 5)
    say(f"benchmark patient {patient_id}: a ledger of 390 entries and 40 invoices")
