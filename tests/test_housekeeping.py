"""Housekeeping removes what has outlived its use and keeps the rest."""

import os
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from portal.operations import housekeeping
from portal.tables import LoginAttempt, StaffToken, WebSession


async def test_purge_removes_expired_and_old_rows_and_logs(clinic, settings, tmp_path):
    now = datetime.now(timezone.utc)
    for key, expires in (("old", now - timedelta(minutes=1)), ("live", now + timedelta(hours=1))):
        await WebSession.insert(WebSession(key=key, data=b"x", expires_at=expires))
    for at in (now - timedelta(days=31), now - timedelta(days=1)):
        await LoginAttempt.insert(LoginAttempt(email="a@b.test", ip="10.0.0.1", succeeded=False, at=at))
    for expires in (now - timedelta(minutes=1), now + timedelta(hours=1)):
        await StaffToken.insert(StaffToken(clinic=clinic.clinic_id, staff=clinic.id, purpose="password_reset",
                                           token_hash=str(expires.timestamp()), created_at=now, expires_at=expires))
    old_log, new_log = tmp_path / "portal-2026-01-01.log", tmp_path / "portal-today.log"
    old_log.write_text("old")
    new_log.write_text("new")
    os.utime(old_log, (time.time() - 30 * 86400,) * 2)
    counts = await housekeeping.purge(replace(settings, log_dir=tmp_path, log_keep_days=14))
    assert counts["sessions"] == 1 and counts["login_attempts"] == 1 and counts["staff_tokens"] == 1
    assert counts["log_files"] == 1 and not old_log.exists() and new_log.exists()
    assert [r["key"] for r in await WebSession.select(WebSession.key)] == ["live"]
    assert await LoginAttempt.count() == 1 and await StaffToken.count() == 1


def test_upload_folders_a_killed_process_left_are_removed_after_an_hour(settings, tmp_path):
    import dataclasses
    import os
    import time

    from portal.operations import housekeeping

    local = dataclasses.replace(settings, data_dir=tmp_path)
    old, live = tmp_path / "uploads" / "upload-old", tmp_path / "uploads" / "upload-live"
    for folder in (old, live):
        folder.mkdir(parents=True)
        (folder / "part-0").write_bytes(b"x" * 10)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert housekeeping.purge_upload_leftovers(local) == 1
    assert not old.exists() and live.exists()
