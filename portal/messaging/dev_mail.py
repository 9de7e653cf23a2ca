"""Development mail: `make run` starts a local SMTP sink (aiosmtpd) that keeps each message as an .eml
file; the owner page lists the ones sent for the owner's clinic, so a newcomer sees reminders arrive."""

import email
import email.policy
from datetime import datetime, timezone
from pathlib import Path


class _SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        (self.folder / f"{stamp}.eml").write_bytes(envelope.content)
        return "250 OK"


def start_sink(folder: Path, host: str = "127.0.0.1", port: int = 8025):
    """Start the sink in a background thread; returns the aiosmtpd Controller (call .stop())."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    return controller


def caught(folder: Path | None, clinic_id: int, limit: int = 30) -> list[dict]:
    """The newest caught messages sent on behalf of this clinic (by their X-Chairside-Clinic header)."""
    if folder is None or not folder.exists():
        return []
    found = []
    for path in sorted(folder.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Chairside-Clinic"] != str(clinic_id):
            continue
        body = message.get_body(preferencelist=("plain",))
        found.append({"name": path.stem, "to": str(message["To"]), "subject": str(message["Subject"]),
                      "key": str(message["X-Chairside-Key"] or ""), "text": body.get_content() if body else "",
                      "attachments": [p.get_filename() for p in message.iter_attachments()]})
        if len(found) >= limit:
            break
    return found
