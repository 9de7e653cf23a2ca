"""The audit trail proves itself: every insert path chains the row per clinic (also under concurrency), and
`portal audit verify` (and the owner's page) names a changed, deleted or inserted row."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from portal import audit, db
from portal.tables import AuditEntry
from tests import factories
from tests.factories import sign_in_as

ROOT = Path(__file__).resolve().parents[2]


async def _tamper(sql: str, *args) -> None:
    """What someone with database rights could do: switch the append-only trigger off and edit."""
    async with db.transaction():
        await AuditEntry.raw("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        await AuditEntry.raw(sql, *args)
        await AuditEntry.raw("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


def _verify_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portal.cli", "audit", "verify", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ})


async def test_every_insert_path_chains_rows_per_clinic_even_concurrently(clinic, other_clinic):
    patients = [await factories.make_patient(clinic, given_name=f"P{i}") for i in range(3)]

    async def write(i: int):
        async with db.transaction():
            await audit.record(clinic, "test.concurrent", detail={"i": i})
            await asyncio.sleep(0.01)
            await audit.record_patients_shown(clinic, "test.shown", patients)

    await asyncio.gather(*[write(i) for i in range(8)])
    await audit.record(other_clinic, "test.other")
    await audit.record(None, "test.no_clinic")
    for chain in (clinic.clinic_id, other_clinic.clinic_id, 0):
        report = await audit.verify_chain(chain)
        assert report.intact and report.verified_up_to == report.rows > 0, report
    seqs = [r["chain_seq"] for r in await AuditEntry.select(AuditEntry.chain_seq).where(
        AuditEntry.clinic_id == clinic.clinic_id).order_by(AuditEntry.chain_seq)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_verify_names_a_changed_a_deleted_and_an_inserted_row(clinic):
    for i in range(6):
        await audit.record(clinic, "test.row", detail={"i": i})
    rows = await AuditEntry.select(AuditEntry.id, AuditEntry.chain_seq).where(
        AuditEntry.clinic_id == clinic.clinic_id).order_by(AuditEntry.chain_seq)
    assert (await audit.verify_chain(clinic.clinic_id)).intact
    result = _verify_cli()
    assert result.returncode == 0 and f"verified up to row {len(rows)}" in result.stdout, result.stdout + result.stderr

    await _tamper("UPDATE audit_entry SET actor_name = 'Someone else' WHERE id = {}", rows[1]["id"])
    report = await audit.verify_chain(clinic.clinic_id)
    assert report.verified_up_to == 1 and any(f"row 2 (id {rows[1]['id']}) was changed" in p for p in report.problems)

    await _tamper("DELETE FROM audit_entry WHERE id = {}", rows[3]["id"])
    report = await audit.verify_chain(clinic.clinic_id)
    assert any("row 4 deleted" in p for p in report.problems), report.problems

    await _tamper("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_chain")
    try:
        await _tamper("INSERT INTO audit_entry (clinic_id, actor_kind, action, at, chain_seq, prev_hash, row_hash) "
                      "VALUES ({}, 'staff', 'forged', now(), 99, 'x', 'y')", clinic.clinic_id)
    finally:
        await _tamper("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_chain")
    report = await audit.verify_chain(clinic.clinic_id)
    assert any("row 99" in p for p in report.problems), report.problems

    result = _verify_cli("--clinic", str(clinic.clinic_id))
    assert result.returncode == 1
    assert "was changed" in result.stdout and "row 4 deleted" in result.stdout and "row 99" in result.stdout


async def test_a_retention_purge_leaves_a_chain_that_still_verifies(clinic):
    for i in range(4):
        await audit.record(clinic, "test.row", detail={"i": i})
    async with db.transaction():
        await AuditEntry.raw("SELECT set_config('chairside.audit_purge', 'on', true)")
        await AuditEntry.raw("DELETE FROM audit_entry WHERE chain_seq IN (2, 3)")
    report = await audit.verify_chain(clinic.clinic_id)
    assert report.intact and report.verified_up_to == report.rows + 2


async def test_the_owner_sees_verified_up_to_row_n_and_a_warning_when_broken(client, clinic):
    await sign_in_as(client, clinic)
    page = await client.get("/audit")
    assert page.status_code == 200 and "up to row" in page.text and "hash chain intact" in page.text
    first = await AuditEntry.select(AuditEntry.id).where(AuditEntry.clinic_id == clinic.clinic_id).order_by(
        AuditEntry.chain_seq).first()
    await _tamper("UPDATE audit_entry SET action = 'nothing.to.see' WHERE id = {}", first["id"])
    page = await client.get("/audit")
    assert "does not verify past row 0" in page.text and f"row 1 (id {first['id']}) was changed" in page.text
