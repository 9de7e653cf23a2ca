"""Technical logs: one structured line per request (no bodies, no query strings), rotated daily."""

import json
import logging
import secrets
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from portal.audit import request_id_var
from portal.settings import Settings

request_log = logging.getLogger("chairside.request")


class JsonLines(logging.Formatter):
    """One JSON object per line; formatted once per record, though both handlers (file and stderr) write it."""

    def format(self, record: logging.LogRecord) -> str:
        done = record.__dict__.get("_json_line")
        if done is not None:
            return done
        record._json_line = self._format(record)
        return record._json_line

    def _format(self, record: logging.LogRecord) -> str:
        line = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["trace"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class DailyFile(logging.Handler):
    """Append to portal-YYYY-MM-DD.log and delete files older than `keep_days`.

    Several worker processes write the same file safely (appends, no renames), which the standard
    TimedRotatingFileHandler cannot promise: it renames the file under the other workers' feet.
    """

    def __init__(self, folder: Path, keep_days: int):
        super().__init__()
        self.folder, self.keep_days = folder, keep_days
        self.day, self.stream = None, None

    def _open(self, day: date) -> None:
        if self.stream:
            self.stream.close()
        self.stream = open(self.folder / f"portal-{day.isoformat()}.log", "a", encoding="utf-8")
        self.day = day
        oldest = day - timedelta(days=self.keep_days)
        for old in self.folder.glob("portal-*.log"):
            try:
                if date.fromisoformat(old.stem.removeprefix("portal-")) < oldest:
                    old.unlink(missing_ok=True)
            except ValueError:
                continue

    def emit(self, record: logging.LogRecord) -> None:
        try:
            today = datetime.now(timezone.utc).date()
            if today != self.day:
                self._open(today)
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001 - a log line must never break a request
            self.handleError(record)


def configure_logging(settings: Settings) -> None:
    """Log to stderr and to files under the log folder, one file per day, kept `log_keep_days` days."""
    root = logging.getLogger("chairside")
    if getattr(root, "_chairside_configured", False):
        return
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    formatter = JsonLines()
    to_file = DailyFile(settings.log_dir, settings.log_keep_days)
    to_stderr = logging.StreamHandler()
    for handler in (to_file, to_stderr):
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    root._chairside_configured = True


def request_logging_middleware(app):
    """Give each request an id (shown on error pages, stamped on audit rows) and log one line when done."""

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            actor = scope.get("state", {}).get("actor")
            request_log.info("request", extra={"fields": {
                "method": scope["method"], "path": scope.get("path_template") or "(unrouted)",
                "status": status, "ms": round((time.perf_counter() - started) * 1000, 1),
                "request_id": request_id, "user": f"{actor.kind}:{actor.id}" if actor else None}})
            request_id_var.reset(token)

    return middleware
