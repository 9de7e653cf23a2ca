"""Backups and restores: one tar file holding a custom-format pg_dump and a manifest that proves the restore.

The manifest is computed in the very snapshot pg_dump dumps (`pg_export_snapshot` + `--snapshot`), so its
row counts per table, image checksums, latest migration, triggers and exclusion constraints describe exactly
what the dump holds. `restore` refuses a non-empty database, restores in one transaction, compares the result
with the manifest, applies newer migrations, and holds every message that was waiting at dump time
(portal/messaging/holds.py): a restored clinic never re-sends what the live system may have sent already.
"""

import asyncio
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import asyncpg

FORMAT = "chairside-backup/1"
DUMP_NAME, MANIFEST_NAME = "database.dump", "manifest.json"

# What must hold in any restored database, whatever the manifest says (the rules PostgreSQL enforces).
REQUIRED_TRIGGERS = {("audit_entry", "audit_entry_append_only"), ("consent_event", "consent_event_append_only"),
                     ("clinical_note", "clinical_note_append_only"),
                     ("plan_acceptance", "plan_acceptance_append_only"),
                     ("medical_history", "medical_history_append_only"),
                     ("perio_exam", "perio_exam_signed_immutable"), ("perio_tooth", "perio_tooth_signed_immutable")}
REQUIRED_EXCLUSIONS = {("appointment", "appointment_chair_free"), ("appointment", "appointment_provider_free")}
# Online booking's holds: two patients never hold the same chair or provider time (portal/recall/booking.py).
REQUIRED_EXCLUSIONS |= {("booking_hold", "booking_hold_chair_free"), ("booking_hold", "booking_hold_provider_free")}


class RestoreRefused(Exception):
    """The backup or the target is not fit for a restore; nothing was changed (or the change was rolled back)."""


def _major(binary: str) -> int:
    """The major version of a PostgreSQL client program ("pg_dump (PostgreSQL) 18.4" -> 18)."""
    import re
    import subprocess

    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else 0


def tool(name: str, server_major: int) -> str:
    """pg_dump or pg_restore able to talk to this server: the PATH's (an external server's own client) when it
    is at least the server's major version, else the one the embedded package ships (PostgreSQL 18)."""
    from portal import db

    bundled = db.embedded_bin_dir() / name
    for candidate in (shutil.which(name), str(bundled) if bundled.exists() else None):
        if candidate and _major(candidate) >= server_major:
            return candidate
    raise RestoreRefused(f"no {name} of version {server_major} or newer: install your server's PostgreSQL client")


def libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def describe(conn: asyncpg.Connection) -> dict:
    """Counts per table, image checksums, latest migration, triggers and exclusion constraints (as seen by
    `conn`'s transaction)."""
    tables = [r["relname"] for r in await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname")]
    counts = {}
    for table in tables:
        counts[table] = await conn.fetchval(f'SELECT count(*) FROM public."{table}"')
    images = {}
    if "patient_image_blob" in tables:
        images = {f'{r["image"]}:{r["rendition"]}': r["sha"] for r in await conn.fetch(
            "SELECT image, rendition, encode(sha256(data), 'hex') AS sha FROM patient_image_blob "
            "ORDER BY image, rendition")}
    migration = None
    if "migration" in tables:
        migration = await conn.fetchval("SELECT max(name) FROM migration WHERE app_name = 'portal'")
    triggers = [[r["t"], r["name"]] for r in await conn.fetch(
        "SELECT c.relname AS t, tg.tgname AS name FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT tg.tgisinternal "
        "AND tg.tgenabled <> 'D' ORDER BY 1, 2")]
    exclusions = [[r["t"], r["name"]] for r in await conn.fetch(
        "SELECT c.relname AS t, k.conname AS name FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND k.contype = 'x' "
        "ORDER BY 1, 2")]
    pending = 0
    if "outbox_message" in tables:
        pending = await conn.fetchval("SELECT count(*) FROM outbox_message WHERE status IN ('queued', 'sending')")
    return {"tables": counts, "images": images, "migration": migration, "triggers": triggers,
            "exclusion_constraints": exclusions, "outbox_waiting": pending}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def _run(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RestoreRefused(f"{Path(command[0]).name} failed ({process.returncode}): "
                             f"{(err or out).decode(errors='replace').strip()[-2000:]}")


async def backup(url: str, target: Path) -> dict:
    """Write `target` (a tar: database.dump + manifest.json); returns the manifest."""
    url = libpq_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(),
                        "server_version": await conn.fetchval("SHOW server_version"), **await describe(conn)}
            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
                dump = Path(work) / DUMP_NAME
                # The exported snapshot lives while this transaction is open: pg_dump sees what we counted.
                await _run(tool("pg_dump", await _server_major(conn)), "--format=custom", f"--snapshot={snapshot}",
                           f"--file={dump}", f"--dbname={url}")
                manifest["dump_sha256"], manifest["dump_bytes"] = _sha256(dump), dump.stat().st_size
                partial = target.with_name(target.name + ".partial")
                with tarfile.open(partial, "w") as tar:
                    data = json.dumps(manifest, indent=1).encode()
                    info = tarfile.TarInfo(MANIFEST_NAME)
                    info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o600
                    tar.addfile(info, io.BytesIO(data))
                    tar.add(dump, arcname=DUMP_NAME)
                partial.chmod(0o600)
                os.replace(partial, target)  # a backup file exists only when complete
    finally:
        await conn.close()
    return manifest


def read_manifest(source: Path) -> dict:
    try:
        with tarfile.open(source, "r") as tar:
            member = tar.extractfile(MANIFEST_NAME)
            manifest = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise RestoreRefused(f"{source} is not a Chairside backup: {exc}")
    if not manifest or manifest.get("format") != FORMAT:
        raise RestoreRefused(f"{source} has no {FORMAT} manifest")
    return manifest


async def _server_major(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SHOW server_version_num")) // 10000


async def _is_empty(conn: asyncpg.Connection) -> bool:
    return not await conn.fetchval(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')")


def compare(manifest: dict, found: dict) -> list[str]:
    """Every way the restored database differs from the manifest and from the rules that must always hold."""
    problems = []
    for table, count in manifest["tables"].items():
        if found["tables"].get(table) != count:
            problems.append(f"table {table}: {found['tables'].get(table)} rows, the backup had {count}")
    if found["images"] != manifest["images"]:
        bad = sorted(k for k in set(manifest["images"]) | set(found["images"])
                     if manifest["images"].get(k) != found["images"].get(k))
        problems.append(f"{len(bad)} stored image files differ from their checksums (first: {bad[:3]})")
    if found["migration"] != manifest["migration"]:
        problems.append(f"latest migration {found['migration']}, the backup had {manifest['migration']}")
    triggers = {tuple(t) for t in found["triggers"]}
    for table, name in sorted({tuple(t) for t in manifest["triggers"]} | REQUIRED_TRIGGERS):
        if (table, name) not in triggers:
            problems.append(f"trigger {name} on {table} is missing or disabled")
    exclusions = {tuple(x) for x in found["exclusion_constraints"]}
    for table, name in sorted({tuple(x) for x in manifest["exclusion_constraints"]} | REQUIRED_EXCLUSIONS):
        if (table, name) not in exclusions:
            problems.append(f"exclusion constraint {name} on {table} is missing")
    return problems


async def restore(url: str, source: Path) -> dict:
    """Restore `source` into the EMPTY database at `url` and verify it; returns the manifest and the findings.

    The caller then migrates and holds waiting messages (`finish_restore`), with Piccolo pointed at `url`.
    """
    url = libpq_url(url)
    manifest = read_manifest(source)
    conn = await asyncpg.connect(url)
    try:
        if not await _is_empty(conn):
            raise RestoreRefused("the target database is not empty: restore into a new, empty database "
                                 "(createdb, or `--database NAME` on the embedded server)")
        with tempfile.TemporaryDirectory(dir=source.parent, prefix=".restore-") as work:
            with tarfile.open(source, "r") as tar:
                tar.extract(DUMP_NAME, path=work, filter="data")
            dump = Path(work) / DUMP_NAME
            if _sha256(dump) != manifest["dump_sha256"]:
                raise RestoreRefused("the dump does not match its manifest's checksum (damaged or altered)")
            # One transaction: a failed restore leaves the database as empty as it was.
            await _run(tool("pg_restore", await _server_major(conn)), "--single-transaction", "--exit-on-error",
                       "--no-owner", "--no-privileges", f"--dbname={url}", str(dump))
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            found = await describe(conn)
    finally:
        await conn.close()
    problems = compare(manifest, found)
    if problems:
        raise RestoreRefused("the restored database does not match the backup; do not use it (drop it and try "
                             "another backup):\n  " + "\n  ".join(problems))
    return {"manifest": manifest, "found": found}


async def finish_restore(settings) -> dict:
    """After a verified restore: apply newer migrations, queue reminders whose moment came since the dump (the
    live system may have sent them), then hold every waiting message and drop those whose appointment began."""
    from portal import db
    from portal.calendar import appointment_mail
    from portal.messaging import holds

    await db.migrate()
    await db.start_pool(max_size=2)
    try:
        planned = await appointment_mail.plan_reminders(settings=settings)
        counts = await holds.hold_after_restore()
    finally:
        await db.close_pool()
    return {"planned_since_dump": planned, **counts}
