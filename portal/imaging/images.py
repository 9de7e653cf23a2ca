"""Patient images: upload (checked by bytes, metadata stripped), gallery, viewer reads, export and erasure."""

import asyncio
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timezone

from portal import audit, display
from portal.db import literal_limit, transaction
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.forms import collect, parse_date, too_long
from portal.i18n import N_, gettext, lazy_gettext
from portal.imaging import formats as image_formats
from portal.imaging import rendering as image_rendering
from portal.imaging.formats import DICOM, STL
from portal.permissions import Actor, Permission, can, require
from portal.tables import Patient, PatientImage, PatientImageBlob

KINDS = {"xray": lazy_gettext("X-ray"), "photo": lazy_gettext("Photo"), "scan": lazy_gettext("3D scan")}
KIND_CHOICES = {"": lazy_gettext("From the file"), **KINDS}
display.register_labels("image_kind", KINDS)
MAX_FILES = 30
STORE_CHUNK = 2**20  # bytes sent to PostgreSQL per statement when storing a file
RENDITIONS = ("original", "display", "thumbnail")
SHOWN_IN_BROWSER = ("image/png", "image/jpeg")
# Permanent teeth 11-48 and primary teeth 51-85, in FDI two-digit notation.
FDI_TEETH = {q * 10 + t for q in (1, 2, 3, 4) for t in range(1, 9)} | {q * 10 + t for q in (5, 6, 7, 8)
                                                                      for t in range(1, 6)}
LIST_COLUMNS = (PatientImage.id, PatientImage.kind, PatientImage.format, PatientImage.original_name,
                PatientImage.byte_size, PatientImage.width, PatientImage.height, PatientImage.taken_on,
                PatientImage.teeth, PatientImage.caption, PatientImage.uploaded_at, PatientImage.withdrawn_at,
                PatientImage.withdrawn_reason, PatientImage.pixel_spacing_row, PatientImage.pixel_spacing_column)


@dataclass(frozen=True)
class UploadForm:
    kind: str = ""
    taken_on: str = ""
    teeth: str = ""
    caption: str = ""


@dataclass(frozen=True)
class UploadedFile:
    """One file as the browser sent it: its bytes, or (for a streamed request) the temporary file holding them.
    Either may stop one byte past the limit (the rest was never kept)."""

    name: str
    data: bytes = b""
    path: str | None = None


@dataclass(frozen=True)
class _Accepted:
    name: str
    fmt: str
    kind: str
    rendered: image_rendering.RenderedFile
    byte_size: int


def parse_teeth(text: str) -> list[int] | None:
    """FDI numbers separated by spaces or commas; None if any is not a tooth."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not all(p.isascii() and p.isdigit() and int(p) in FDI_TEETH for p in parts) or len(parts) > 52:
        return None
    return list(dict.fromkeys(int(p) for p in parts))


def clean_labels(form: UploadForm) -> dict:
    given = bool(form.taken_on.strip())
    taken = parse_date(form.taken_on) if given else None
    teeth = parse_teeth(form.teeth)
    errors = collect(
        kind=None if form.kind in KIND_CHOICES else gettext("Choose from the list."),
        taken_on=(gettext("Enter a real date, e.g. 2026-11-24.") if given and taken is None else
                  gettext("The date cannot be in the future.") if taken and taken > date.today() else None),
        teeth=None if teeth is not None else gettext("Use FDI tooth numbers, e.g. 11 21 36."),
        caption=too_long(form.caption, 500),
    )
    if errors:
        raise ValidationFailed(errors)
    return {"kind": form.kind, "taken_on": taken, "teeth": " ".join(map(str, teeth)),
            "caption": form.caption.strip()}


def safe_name(name: str) -> str:
    """The file's own name for display: last path part, printable, at most 200 characters."""
    base = re.split(r"[\\/]", name)[-1]
    return "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable())[:200] or "unnamed"


def _plausible(day: date | None) -> date | None:
    """A date read from a file, unless the device clock was obviously wrong."""
    return day if day is not None and date(1900, 1, 1) <= day <= date.today() else None


def _size(count: int) -> str:
    return f"{count / 2**20:g} MB" if count >= 2**20 else f"{count} bytes"


# What the renderer (in its sandbox process) says about a file it cannot read, as whole sentences to translate.
UNREADABLE = {
    "is too large or too complex to render safely": N_("“%(file)s” is too large or too complex to render safely."),
    "is damaged: it cannot be read": N_("“%(file)s” is damaged: it cannot be read."),
    "is damaged: the picture cannot be read": N_("“%(file)s” is damaged: the picture cannot be read."),
    "is an STL file whose facets cannot be read": N_("“%(file)s” is an STL file whose facets cannot be read."),
    "is an STL file with broken coordinates": N_("“%(file)s” is an STL file with broken coordinates."),
    "has too many pixels to be a photo or X-ray": N_("“%(file)s” has too many pixels to be a photo or X-ray."),
    "has too many pixels (or frames) to be an X-ray": N_("“%(file)s” has too many pixels (or frames) to be an X-ray."),
    "is a DICOM file whose pixel data cannot be read (no image, or a compression we do not support)": N_(
        "“%(file)s” is a DICOM file whose pixel data cannot be read (no image, or a compression we do not support)."),
}


def kind_for(fmt: str, chosen: str) -> tuple[str | None, str | None]:
    """(kind, problem): STL is always a scan, DICOM always an X-ray, a picture an X-ray or a photo."""
    natural = {STL: "scan", DICOM: "xray"}.get(fmt)
    if natural is not None:
        if chosen in ("", natural):
            return natural, None
        return None, gettext("“%(file)s” is a %(format)s, so it can only be a %(kind)s.",
                             format=image_formats.LABELS[fmt], kind=KINDS[natural], file="%(file)s")
    if chosen == "scan":
        return None, gettext("“%(file)s” is a picture; a 3D scan must be an STL file.")
    return chosen or "photo", None


def _on_disk(upload: UploadedFile, folder: str) -> str:
    """The upload's file: its own temporary file, or its bytes written to one in `folder`."""
    if upload.path is not None:
        return upload.path
    path = os.path.join(folder, "upload")
    with open(path, "wb") as file:
        file.write(upload.data)
    return path


def _check_file(path: str, chosen_kind: str, max_bytes: int) -> tuple[str | None, str | None]:
    """(format, problem) from the bytes alone, read in pieces."""
    size = os.path.getsize(path)
    if not size:
        return None, gettext("“%(file)s” is empty.")
    if size > max_bytes:
        return None, gettext("“%(file)s” is larger than %(size)s.", size=_size(max_bytes), file="%(file)s")
    with open(path, "rb") as file:
        fmt, head = image_formats.sniff_file(file, size)
    if fmt is None:
        return None, gettext("“%(file)s” is %(found)s, not a PNG, JPEG, DICOM or STL file.",
                             found=image_formats.describe_other(head), file="%(file)s")
    return fmt, kind_for(fmt, chosen_kind)[1]


def _prepare_here(upload: UploadedFile, chosen_kind: str, max_bytes: int,
                  folder: str) -> tuple[_Accepted | None, str | None]:
    """Check and render one file from disk (blocking: run in a worker thread); its renders go into `folder`."""
    os.makedirs(folder)
    source = _on_disk(upload, folder)
    fmt, problem = _check_file(source, chosen_kind, max_bytes)
    if problem:
        return None, problem
    try:
        rendered = image_rendering.render_file(fmt, source, folder)
    except image_rendering.Unreadable as exc:
        return None, gettext(UNREADABLE.get(str(exc), N_("“%(file)s” cannot be read.")))
    kind, _ = kind_for(fmt, chosen_kind)
    return _Accepted(safe_name(upload.name), fmt, kind, rendered, os.path.getsize(rendered.original)), None


async def _owned_patient(actor: Actor, patient_id: int) -> dict:
    row = await Patient.select(Patient.id, Patient.given_name, Patient.family_name,
                               Patient.date_of_birth).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if row is None:
        raise NotFound()
    return row


async def upload_images(actor: Actor, patient_id: int, form: UploadForm, files: list[UploadedFile],
                        max_bytes: int, work_dir: str | None = None) -> list[int]:
    """Store a batch all-or-nothing: one refused file refuses the batch; the message names each problem.

    Files are checked, rendered and stored one at a time from disk (renders go to a temporary folder in
    `work_dir`), so memory holds one file's thumbnail and a 1 MB chunk, never a whole file.
    """
    require(actor, Permission.WRITE_CLINICAL)
    await _owned_patient(actor, patient_id)
    fields = clean_labels(form)
    if not files:
        raise ValidationFailed({"files": gettext("Choose at least one file.")})
    if len(files) > MAX_FILES:
        raise ValidationFailed({"files": gettext("Upload at most %(count)s files at a time.", count=MAX_FILES)})
    with tempfile.TemporaryDirectory(prefix="renders-", dir=work_dir) as folder:
        accepted, problems = [], []
        for number, upload in enumerate(files):  # one at a time: only one file's render is ever in memory
            result, problem = await asyncio.to_thread(_prepare_here, upload, fields["kind"], max_bytes,
                                                      os.path.join(folder, str(number)))
            if problem:
                problems.append(problem.replace("%(file)s", safe_name(upload.name)))
            else:
                accepted.append(result)
        if problems:
            raise ValidationFailed({"files": " ".join(problems) + " " + gettext("Nothing was uploaded.")})
        async with transaction():
            return [await _store(actor, patient_id, fields, item) for item in accepted]


async def _store(actor: Actor, patient_id: int, fields: dict, item: _Accepted) -> int:
    rendered = item.rendered
    row = PatientImage(clinic=actor.clinic_id, patient=patient_id, kind=item.kind, format=item.fmt,
                       content_type=rendered.content_type, original_name=item.name,
                       byte_size=item.byte_size, width=rendered.width, height=rendered.height,
                       pixel_spacing_row=rendered.pixel_spacing[0] if rendered.pixel_spacing else None,
                       pixel_spacing_column=rendered.pixel_spacing[1] if rendered.pixel_spacing else None,
                       taken_on=fields["taken_on"] or _plausible(rendered.taken_on) or date.today(),
                       teeth=fields["teeth"], caption=fields["caption"],
                       uploaded_by=actor.id, uploaded_at=datetime.now(timezone.utc))
    await row.save()
    await _store_blob(row.id, "original", rendered.content_type, rendered.original)
    await PatientImageBlob.raw("INSERT INTO patient_image_blob (image, rendition, content_type, data) "
                               "VALUES ({}, 'thumbnail', 'image/jpeg', {})", row.id, rendered.thumbnail)
    if rendered.display is not None:
        await _store_blob(row.id, "display", "image/png", rendered.display)
    await audit.record(actor, "image.uploaded", patient_id=patient_id, object_type="image", object_id=row.id,
                       detail={"kind": item.kind, "format": item.fmt, "bytes": item.byte_size})
    return row.id


async def _store_blob(image_id: int, rendition: str, content_type: str, path: str) -> None:
    """A file into one bytea row, STORE_CHUNK bytes at a time: the chunks gather in a large object inside this
    transaction, the row takes its bytes in one server-side step, and the large object is unlinked again."""
    oid = None
    with open(path, "rb") as file:
        offset = 0
        for chunk in iter(lambda: file.read(STORE_CHUNK), b""):
            if oid is None:
                [row] = await PatientImageBlob.raw("SELECT lo_from_bytea(0, {}) AS oid", chunk)
                oid = row["oid"]
            else:
                await PatientImageBlob.raw("SELECT lo_put({}::oid, {}::bigint, {})", oid, offset, chunk)
            offset += len(chunk)
    data = "lo_get({}::oid)" if oid is not None else "''::bytea"
    await PatientImageBlob.raw("INSERT INTO patient_image_blob (image, rendition, content_type, data) "
                               "VALUES ({}, {}, {}, " + data + ")",
                               image_id, rendition, content_type, *([oid] if oid is not None else []))
    if oid is not None:
        await PatientImageBlob.raw("SELECT lo_unlink({}::oid)", oid)


async def list_images(actor: Actor, patient_id: int, kind: str = "", withdrawn: bool = False
                      ) -> tuple[dict, list[dict]]:
    """The patient (name for the heading) and their images, newest first; never reads the bytes.

    Withdrawn (wrongly filed) images are left out, unless `withdrawn` asks for them alone."""
    require(actor, Permission.READ_IMAGES)
    async with transaction():
        patient = await _owned_patient(actor, patient_id)
        query = PatientImage.select(*LIST_COLUMNS).where(
            (PatientImage.clinic == actor.clinic_id) & (PatientImage.patient == patient_id)
            & (PatientImage.withdrawn_at.is_not_null() if withdrawn else PatientImage.withdrawn_at.is_null()))
        if kind in KINDS:
            query = query.where(PatientImage.kind == kind)
        rows = await query.order_by(PatientImage.taken_on, ascending=False).order_by(PatientImage.id,
                                                                                     ascending=False)
        await audit.record(actor, "image.listed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id,
                           detail={"kind": kind if kind in KINDS else "", "shown": len(rows),
                                   **({"withdrawn": True} if withdrawn else {})})
    return patient, rows


async def recent_images(actor: Actor, patient_id: int, limit: int = 6) -> tuple[int, list[dict]]:
    """How many images the patient has and the newest few, for the chart overview (thumbnails load lazily), audited
    like the images page's list; the caller has checked the patient is the actor clinic's and not isolated."""
    require(actor, Permission.READ_IMAGES)
    rows = await PatientImage.raw(
        "SELECT id, kind, taken_on, caption, count(*) OVER () AS total FROM patient_image "
        "WHERE clinic = {} AND patient = {} AND withdrawn_at IS NULL ORDER BY taken_on DESC, id DESC "
        + literal_limit(limit),
        actor.clinic_id, patient_id)
    await audit.record(actor, "image.listed", patient_id=patient_id, object_type="patient", object_id=patient_id,
                       detail={"kind": "", "shown": len(rows)})
    return (rows[0]["total"] if rows else 0), rows


async def _owned_image(actor: Actor, patient_id: int, image_id: int) -> dict:
    row = await PatientImage.select(*LIST_COLUMNS).where(
        (PatientImage.id == image_id) & (PatientImage.patient == patient_id)
        & (PatientImage.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def get_image(actor: Actor, patient_id: int, image_id: int) -> tuple[dict, dict]:
    """(patient, image) for the viewer page; opening it is audited."""
    require(actor, Permission.READ_IMAGES)
    async with transaction():
        patient = await _owned_patient(actor, patient_id)
        image = await _owned_image(actor, patient_id, image_id)
        await audit.record(actor, "image.viewed", patient_id=patient_id, object_type="image",
                           object_id=image_id)
    image["download_name"] = download_name(image)
    return patient, image


def download_name(image: dict) -> str:
    """A name we make (kind, date, id): the uploaded name may hold anything, even another patient's name."""
    extension = image_formats.EXTENSIONS[image["format"]]
    return f'{image["kind"]}-{image["taken_on"].isoformat()}-{image["id"]}.{extension}'


@dataclass(frozen=True)
class ImageBytes:
    data: bytes
    content_type: str
    filename: str
    inline: bool


async def read_image(actor: Actor, patient_id: int, image_id: int, rendition: str) -> ImageBytes:
    """One rendition's bytes. "display" is what a browser can show: a DICOM's render, or the picture itself.

    A DICOM or STL original is a download; pictures and renders open in the browser.
    """
    require(actor, Permission.READ_IMAGES)
    if rendition not in RENDITIONS:
        raise NotFound()
    wanted = ["display", "original"] if rendition == "display" else [rendition]
    async with transaction():
        rows = await PatientImage.raw(
            "SELECT i.id, i.kind, i.format, i.taken_on, b.rendition, b.content_type, b.data "
            "FROM patient_image i "
            "JOIN patient_image_blob b ON b.image = i.id AND b.rendition = ANY({}::text[]) "
            "WHERE i.id = {} AND i.patient = {} AND i.clinic = {} "
            "ORDER BY b.rendition = 'display' DESC LIMIT 1",
            wanted, image_id, patient_id, actor.clinic_id)
        if not rows or rendition == "display" and rows[0]["content_type"] not in SHOWN_IN_BROWSER:
            raise NotFound()
        await audit.record(actor, f"image.{rendition}_read", patient_id=patient_id, object_type="image",
                           object_id=image_id)
    row = rows[0]
    name = download_name(row)
    if row["rendition"] != "original":
        extension = "png" if row["content_type"] == "image/png" else "jpg"
        name = name.rsplit(".", 1)[0] + f"-{row['rendition']}.{extension}"
    return ImageBytes(bytes(row["data"]), row["content_type"], name,
                      inline=row["content_type"] in SHOWN_IN_BROWSER)


def _check_export_allowed(actor: Actor, patient_id: int) -> None:
    if actor.kind == "patient":
        if actor.id != patient_id:
            raise NotFound()
    elif not (can(actor, Permission.READ_IMAGES) or can(actor, Permission.HANDLE_PRIVACY_REQUESTS)):
        raise Forbidden(Permission.READ_IMAGES.value)


async def images_for_export(actor: Actor, patient_id: int) -> AsyncIterator[tuple[str, str, bytes]]:
    """(filename, content type, bytes) of every original, one at a time, for a data-access export.

    Allowed to clinical staff, to staff handling privacy requests, and to the patient themself (an Actor of
    kind "patient" whose id is the patient's). The export is audited once, with the number of files.
    """
    _check_export_allowed(actor, patient_id)
    async with transaction():
        await _owned_patient(actor, patient_id)
        images = await PatientImage.select(PatientImage.id, PatientImage.kind, PatientImage.format,
                                           PatientImage.taken_on).where(
            (PatientImage.clinic == actor.clinic_id) & (PatientImage.patient == patient_id)
        ).order_by(PatientImage.id)
        await audit.record(actor, "image.exported", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"files": len(images)})
    for image in images:
        blob = await PatientImageBlob.select(PatientImageBlob.content_type, PatientImageBlob.data).where(
            (PatientImageBlob.image == image["id"]) & (PatientImageBlob.rendition == "original")).first()
        if blob is not None:  # erased while the export ran
            yield download_name(image), blob["content_type"], bytes(blob["data"])


async def erase_patient_images(patient_id: int) -> int:
    """Delete every image of a patient, bytes and all, in one statement; returns how many went.

    No actor and no permission check: only domain code that has already decided the erasure (the privacy
    request workflow, retention) calls this, and it audits the erasure itself. It joins the caller's
    transaction when there is one, so the images go together with the rest of the record or not at all.
    """
    deleted = await PatientImage.delete().where(PatientImage.patient == patient_id).returning(PatientImage.id)
    return len(deleted)
