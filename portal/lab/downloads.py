"""The lab-portal download: instead of mail, a case is offered to its lab as a time-limited signed link to a ZIP
(the lab slip and the attachments); each fetch is recorded as a disclosure (what went to whom and when).

The link is `<id>.<expiry>.<signature>`: an HMAC-SHA256 under the app's secret key over the offer's id, its
expiry and a random nonce kept with it, so a link cannot be forged, altered or stretched; an expired link is
refused and its ZIP dropped. The ZIP is built when offered, by the dentist (who may read the images), and its
SHA-256 kept, so the lab fetches exactly what was offered. The page the link opens asks for a tap before the
download, so a mail scanner that follows links discloses nothing.
"""

import hashlib
import hmac
import io
import json
import secrets
import zipfile
from datetime import datetime, timedelta, timezone

from portal import audit, display, links
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import gettext as _
from portal.lab import cases, sending
from portal.messaging import outbox
from portal.permissions import Actor, Permission, require
from portal.privacy.lab_records import record_disclosure
from portal.settings import Settings
from portal.tables import Clinic, LabCase, LabDownload

VALID_FOR = timedelta(days=7)
PATH = "/lab-download"


class LinkExpired(Exception):
    """A genuine link whose time is up."""


def _signature(settings: Settings, download_id: int, expires: int, nonce: str) -> str:
    message = f"lab-download|{download_id}|{expires}|{nonce}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def token_for(settings: Settings, row: dict) -> str:
    expires = int(row["expires_at"].timestamp())
    return f"{row['id']}.{expires}.{_signature(settings, row['id'], expires, row['nonce'])}"


def _zip(slip: bytes, case_id: int, files: list) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # A fixed date in the entries keeps the archive the same bytes for the same content (its hash proves it).
        archive.writestr(zipfile.ZipInfo(f"lab-slip-{case_id}.pdf", (2020, 1, 1, 0, 0, 0)), slip)
        for number, f in enumerate(files, 1):
            archive.writestr(zipfile.ZipInfo(f"{number:02d}-{f.filename}", (2020, 1, 1, 0, 0, 0)), f.data)
    return out.getvalue()


async def offer(actor: Actor, settings: Settings, patient_id: int, case_id: int) -> str:
    """Offer the case to its lab as a download: build the ZIP, mail the lab the link (when it has an address),
    mark a draft case sent; returns the link. The disclosure is recorded when the lab fetches it."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        case = await cases.get_case(actor, patient_id, case_id)
        lab = case["lab_row"]
        if case["status"] not in ("draft", "sent"):
            raise ValidationFailed({"status": _("Only a case that is not yet in production can be offered.")})
        slip, files, data, due = await sending.package(actor, patient_id, case)
        archive = _zip(slip, case_id, files)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        row = LabDownload(clinic=actor.clinic_id, lab_case=case_id, nonce=secrets.token_hex(16), lab_name=lab["name"],
                          lab_email=lab["email"], data=data, zip=archive,
                          zip_sha256=hashlib.sha256(archive).hexdigest(), expires_at=now + VALID_FOR,
                          created_by=actor.id, created_by_name=actor.name, created_at=now)
        await row.save()
        link = links.absolute_url(settings, f"{PATH}/{token_for(settings, row.to_dict())}")
        if lab["email"]:
            await outbox.enqueue(outbox.Email(
                to=lab["email"], subject=_("Lab case %(id)s from %(clinic)s", id=case_id, clinic=actor.clinic_name),
                text=_("Case %(id)s, due back %(due)s, is ready to download (lab slip and %(count)s attachment(s)) "
                       "until %(until)s:\n%(link)s\n", id=case_id, due=display.format_day(due), count=len(files),
                       until=display.format_day((now + VALID_FOR).date()), link=link)),
                key=f"lab-download-{row.id}", clinic_id=actor.clinic_id)
        if case["status"] == "draft":
            await LabCase.update({LabCase.slip_sha256: hashlib.sha256(slip).hexdigest()}).where(
                LabCase.id == case_id)
            await cases.change_status(actor, patient_id, case_id, cases.StatusForm(status="sent"), _sending=True)
        await audit.record(actor, "lab_case.offered", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id, detail={"download": row.id, "attachments": len(files)})
    return link


async def offers(actor: Actor, settings: Settings, patient_id: int, case_id: int) -> list[dict]:
    """The case's download offers with their links while they last (for the case page)."""
    require(actor, Permission.WRITE_CLINICAL)
    await cases.get_case(actor, patient_id, case_id)
    rows = await LabDownload.select(*LabDownload.all_columns(exclude=[LabDownload.zip])).where(
        (LabDownload.lab_case == case_id) & (LabDownload.clinic == actor.clinic_id)).order_by(LabDownload.id)
    now = datetime.now(timezone.utc)
    for row in rows:
        row["live"] = row["expires_at"] > now
        row["link"] = links.absolute_url(settings, f"{PATH}/{token_for(settings, row)}") if row["live"] else ""
    return rows


async def _verified(settings: Settings, token: str) -> dict:
    """The offer a link names, if its signature holds (NotFound) and it has not expired (LinkExpired)."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[2]) != 64:
        raise NotFound()
    download_id, expires = int(parts[0]), int(parts[1])
    row = await LabDownload.select(*LabDownload.all_columns(exclude=[LabDownload.zip]),
                                   LabDownload.lab_case.patient.as_alias("patient")).where(
        LabDownload.id == download_id).first()
    if row is None or int(row["expires_at"].timestamp()) != expires or not hmac.compare_digest(
            _signature(settings, download_id, expires, row["nonce"]), parts[2]):
        await audit.record(None, "lab_download.refused", object_type="lab_download", object_id=None,
                           detail={"reason": "forged"})
        raise NotFound()
    if row["expires_at"] <= datetime.now(timezone.utc):
        async with transaction():
            await LabDownload.update({LabDownload.zip: None}).where(LabDownload.id == download_id)
            await audit.record(None, "lab_download.refused", patient_id=row["patient"], clinic_id=row["clinic"],
                               object_type="lab_download", object_id=download_id, detail={"reason": "expired"})
        raise LinkExpired()
    return row


async def open_link(settings: Settings, token: str) -> dict:
    """What the lab's page shows before the download: the clinic, the case and until when."""
    row = await _verified(settings, token)
    clinic = await Clinic.select(Clinic.name, Clinic.time_zone).where(Clinic.id == row["clinic"]).first()
    return {**row, "clinic_name": clinic["name"], "time_zone": clinic["time_zone"]}


async def fetch(settings: Settings, token: str) -> tuple[str, bytes]:
    """The ZIP, and the disclosure of what it holds to the lab, recorded in the same transaction."""
    row = await _verified(settings, token)
    async with transaction():
        stored = await LabDownload.select(LabDownload.zip).where(LabDownload.id == row["id"]).first()
        if stored["zip"] is None:
            raise NotFound()
        now = datetime.now(timezone.utc)
        await LabDownload.update({LabDownload.fetches: LabDownload.fetches + 1,
                                  LabDownload.last_fetched_at: now}).where(LabDownload.id == row["id"])
        # Disclosed by whoever offered it: the fetch carries out what they sent.
        offered_by = Actor(kind="staff", id=row["created_by"], clinic_id=row["clinic"], name=row["created_by_name"])
        data = json.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
        await record_disclosure(offered_by, row["patient"], kind="lab", name=row["lab_name"],
                                address=row["lab_email"], data=data, subject_type="lab_case",
                                subject_id=row["lab_case"])
        await audit.record(None, "lab_download.fetched", patient_id=row["patient"], clinic_id=row["clinic"],
                           object_type="lab_download", object_id=row["id"],
                           detail={"lab": row["lab_name"], "sha256": row["zip_sha256"]})
    return f"lab-case-{row['lab_case']}.zip", bytes(stored["zip"])
