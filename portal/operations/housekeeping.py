"""Housekeeping: delete what has outlived its use (run hourly by the worker)."""

import shutil
import time
from datetime import timedelta

from portal import staff
from portal.settings import Settings
from portal.tables import WebSession
from portal.two_factor import totp

LOGIN_ATTEMPTS_KEPT = timedelta(days=30)
FINISHED_JOBS_KEPT = timedelta(days=30)  # failed jobs stay on the owner page that long
SENT_MAIL_KEPT = timedelta(days=90)


async def purge(settings: Settings) -> dict:
    """Returns how many of each were removed."""
    counts = {}
    statements = {
        "sessions": "DELETE FROM web_session WHERE expires_at < now()",
        "login_attempts": "DELETE FROM login_attempt WHERE at < now() - {}::interval",
        "staff_tokens": "DELETE FROM staff_token WHERE expires_at < now() OR used_at IS NOT NULL",
        "finished_jobs": "DELETE FROM procrastinate_jobs j WHERE j.status IN ('failed', 'cancelled', 'aborted') "
                         "AND NOT EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id "
                         "AND e.at > now() - {}::interval)",
        "job_errors": "DELETE FROM job_error e WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs j "
                      "WHERE j.id = e.job_id)",
        "sent_mail": "DELETE FROM outbox_message WHERE status IN ('sent', 'withdrawn') "
                     "AND created_at < now() - {}::interval",
    }
    args = {"login_attempts": (LOGIN_ATTEMPTS_KEPT,), "finished_jobs": (FINISHED_JOBS_KEPT,),
            "sent_mail": (SENT_MAIL_KEPT,)}
    for name, sql in statements.items():
        rows = await WebSession.raw(sql + " RETURNING 1", *args.get(name, ()))
        counts[name] = len(rows)
    counts["totp_sealed"] = await totp.seal_plain_secrets(settings)
    counts["staff_erased"] = await staff.erase_deleted()
    counts["log_files"] = purge_log_files(settings)
    counts["upload_leftovers"] = purge_upload_leftovers(settings)
    return counts


UPLOAD_LEFTOVER_SECONDS = 3600  # no upload streams for an hour: an older folder is a killed process's leftover


def purge_upload_leftovers(settings: Settings) -> int:
    """Temporary upload folders a killed web process left behind (a finished request removes its own)."""
    cutoff = time.time() - UPLOAD_LEFTOVER_SECONDS
    removed = 0
    uploads = settings.data_dir / "uploads"
    if uploads.exists():
        for path in uploads.glob("upload-*"):
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
    return removed


def purge_log_files(settings: Settings) -> int:
    """Technical logs older than LOG_KEEP_DAYS."""
    cutoff = time.time() - settings.log_keep_days * 86400
    removed = 0
    if settings.log_dir.exists():
        for path in settings.log_dir.glob("*.log*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
