"""Technical logs: one JSON line per request, no query strings, one file per day, old days deleted."""

import json
import logging
from datetime import date, datetime, timedelta, timezone

from portal.request_log import DailyFile, JsonLines
from tests.factories import sign_in_as


async def test_one_line_per_request_without_personal_query_strings(client, clinic, settings):
    await sign_in_as(client, clinic)
    await client.get("/patients/search", params={"q": "Jansen"})
    log_file = settings.log_dir / f"portal-{datetime.now(timezone.utc).date().isoformat()}.log"
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if '"request"' in line]
    search = [line for line in lines if line.get("path") == "/patients/search"][-1]
    assert search["status"] == 200 and search["user"] == f"staff:{clinic.id}" and search["request_id"]
    assert "Jansen" not in log_file.read_text()


def test_files_older_than_the_retention_are_deleted(tmp_path):
    old = tmp_path / f"portal-{(date.today() - timedelta(days=15)).isoformat()}.log"
    recent = tmp_path / f"portal-{(date.today() - timedelta(days=3)).isoformat()}.log"
    old.write_text("x\n")
    recent.write_text("x\n")
    handler = DailyFile(tmp_path, keep_days=14)
    handler.setFormatter(JsonLines())
    handler.emit(logging.makeLogRecord({"msg": "hello", "name": "chairside.test"}))
    assert not old.exists() and recent.exists()
    assert (tmp_path / f"portal-{datetime.now(timezone.utc).date().isoformat()}.log").read_text().count("hello") == 1
