"""Imaging domain: each accepted kind by its bytes, metadata stripped, refusals store nothing, export, erasure."""

import io

import numpy as np
import pytest
from PIL import Image

from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.imaging import formats as image_formats
from portal.imaging import images as imaging
from portal.permissions import Role
from portal.tables import AuditEntry, PatientImage, PatientImageBlob
from tests import factories
from tests import image_samples as samples

LIMIT = 10 * 2**20


async def _upload(actor, patient_id, *files, limit=LIMIT, **fields):
    form = imaging.UploadForm(**fields)
    return await imaging.upload_images(actor, patient_id, form, [imaging.UploadedFile(n, d) for n, d in files], limit)


async def test_a_jpeg_photo_is_stored_upright_without_exif_gps(clinic):
    patient = await factories.make_patient(clinic)
    original = samples.picture("JPEG", size=(40, 20), orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the sample really carries GPS
    [image_id] = await _upload(clinic, patient, ("IMG_0001.JPG", original), kind="photo", teeth="11, 21",
                               caption="Front view")
    stored = await imaging.read_image(clinic, patient, image_id, "original")
    picture = Image.open(io.BytesIO(stored.data))
    assert picture.format == "JPEG" and stored.content_type == "image/jpeg"
    assert dict(picture.getexif()) == {} and b"Exif" not in stored.data and b"TabletCam" not in stored.data
    assert b"GPSLatitude" in original and b"GPSLatitude" not in stored.data  # XMP goes too
    assert picture.size == (20, 40)  # orientation 6 applied before the EXIF went
    [row] = (await imaging.list_images(clinic, patient))[1]
    assert (row["kind"], row["format"], row["teeth"], row["caption"]) == ("photo", "jpeg", "11 21", "Front view")
    assert row["taken_on"].isoformat() == "2026-10-05"  # the camera's date, read before the EXIF went


async def test_a_png_xray_loses_its_exif_chunk(clinic):
    patient = await factories.make_patient(clinic)
    [image_id] = await _upload(clinic, patient, ("pano.png", samples.picture("PNG")), kind="xray")
    stored = await imaging.read_image(clinic, patient, image_id, "original")
    assert stored.data.startswith(b"\x89PNG") and b"eXIf" not in stored.data and b"TabletCam" not in stored.data
    thumb = await imaging.read_image(clinic, patient, image_id, "thumbnail")
    assert Image.open(io.BytesIO(thumb.data)).format == "JPEG"


async def test_dicom_is_kept_as_sent_and_rendered_windowed_to_png(clinic):
    patient = await factories.make_patient(clinic)
    data = samples.dicom(rows=64, columns=48)
    [image_id] = await _upload(clinic, patient, ("scan.dcm", data))
    original = await imaging.read_image(clinic, patient, image_id, "original")
    assert original.data == data and original.content_type == "application/dicom" and not original.inline
    display = await imaging.read_image(clinic, patient, image_id, "display")
    render = Image.open(io.BytesIO(display.data))
    assert render.format == "PNG" and render.size == (48, 64) and render.mode == "L"
    assert render.getextrema() == (0, 255)  # the 12-bit ramp fills the window
    [row] = (await imaging.list_images(clinic, patient))[1]
    assert row["kind"] == "xray" and row["format"] == "dicom" and row["taken_on"].isoformat() == "2026-09-14"


@pytest.mark.parametrize("sample", [samples.stl_binary, samples.stl_ascii])
async def test_stl_scans_binary_and_ascii(clinic, sample):
    patient = await factories.make_patient(clinic)
    [image_id] = await _upload(clinic, patient, ("model.bin", sample()))
    original = await imaging.read_image(clinic, patient, image_id, "original")
    assert original.content_type == "model/stl" and not original.inline and original.filename.endswith(".stl")
    thumb = Image.open(io.BytesIO((await imaging.read_image(clinic, patient, image_id, "thumbnail")).data))
    darkest, lightest = thumb.convert("L").getextrema()
    assert lightest - darkest > 50  # the cube is drawn, not a blank square
    with pytest.raises(NotFound):
        await imaging.read_image(clinic, patient, image_id, "display")


def test_byte_sniffing_ignores_names_and_knows_the_common_mistakes():
    assert image_formats.sniff(b"%PDF-1.7\n...") is None
    assert image_formats.describe_other(b"%PDF-1.7\n") == "a PDF document"
    assert image_formats.sniff(b"solid x\nendsolid x\n") is None  # no facets: not a scan
    assert image_formats.sniff(samples.stl_binary()[:-1]) is None  # a truncated binary STL
    assert image_formats.sniff(samples.stl_binary(header=b"solid looks ascii")) == image_formats.STL


@pytest.mark.parametrize("name,data,message", [
    ("xray.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "is a PDF document"),
    ("empty.jpg", b"", "is empty"),
    ("noise.stl", bytes(range(256)) * 40, "not a format we recognise"),
    ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "is damaged"),
])
async def test_refused_files_store_nothing(clinic, name, data, message):
    patient = await factories.make_patient(clinic)
    with pytest.raises(ValidationFailed) as refused:
        await _upload(clinic, patient, ("good.jpg", samples.picture()), (name, data))
    assert message in refused.value.errors["files"] and f"“{name}”" in refused.value.errors["files"]
    assert await PatientImage.count() == 0 and await PatientImageBlob.count() == 0
    assert not await AuditEntry.exists().where(AuditEntry.action == "image.uploaded")


async def test_an_oversize_file_is_refused_without_reading_it_whole(clinic):
    patient = await factories.make_patient(clinic)
    with pytest.raises(ValidationFailed) as refused:
        await _upload(clinic, patient, ("big.jpg", samples.picture(size=(400, 400))), limit=1000)
    assert "larger than 1000 bytes" in refused.value.errors["files"]
    assert await PatientImage.count() == 0


@pytest.mark.parametrize("fields,field", [({"kind": "scan"}, "files"), ({"taken_on": "2999-01-01"}, "taken_on"),
                                          ({"teeth": "11 99"}, "teeth"), ({"kind": "ct"}, "kind")])
async def test_form_rules(clinic, fields, field):
    patient = await factories.make_patient(clinic)
    with pytest.raises(ValidationFailed) as refused:
        await _upload(clinic, patient, ("a.jpg", samples.picture()), **fields)
    assert field in refused.value.errors


async def test_several_files_at_once_each_get_a_row_and_an_audit_entry(clinic):
    patient = await factories.make_patient(clinic)
    ids = await _upload(clinic, patient, ("a.jpg", samples.picture()), ("b.dcm", samples.dicom()),
                        ("c.stl", samples.stl_ascii()), taken_on="2026-11-02")
    _, rows = await imaging.list_images(clinic, patient)
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["kind"] for r in rows} == {"photo", "xray", "scan"}
    assert {r["taken_on"].isoformat() for r in rows} == {"2026-11-02"}  # the form's date beats the files'
    assert [r["id"] for r in (await imaging.list_images(clinic, patient, "scan"))[1]] == [ids[2]]
    uploads = await AuditEntry.select(AuditEntry.object_id).where(AuditEntry.action == "image.uploaded")
    assert sorted(int(r["object_id"]) for r in uploads) == sorted(ids)


async def test_receptionist_may_neither_read_nor_upload(clinic):
    patient = await factories.make_patient(clinic)
    image_id = await samples.stored(clinic, patient)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    for call in (imaging.list_images(desk, patient), imaging.get_image(desk, patient, image_id),
                 imaging.read_image(desk, patient, image_id, "original"),
                 _upload(desk, patient, ("a.jpg", samples.picture()))):
        with pytest.raises(Forbidden):
            await call


async def test_another_clinics_ids_are_not_found(clinic, other_clinic):
    patient = await factories.make_patient(clinic)
    image_id = await samples.stored(clinic, patient)
    other_patient = await factories.make_patient(other_clinic)
    for call in (imaging.list_images(other_clinic, patient), imaging.get_image(other_clinic, patient, image_id),
                 imaging.get_image(other_clinic, other_patient, image_id),
                 imaging.read_image(other_clinic, other_patient, image_id, "thumbnail"),
                 _upload(other_clinic, patient, ("a.jpg", samples.picture()))):
        with pytest.raises(NotFound):
            await call
    assert await PatientImage.count() == 1


async def test_reads_are_audited(clinic):
    patient = await factories.make_patient(clinic)
    image_id = await samples.stored(clinic, patient)
    await imaging.list_images(clinic, patient, "xray")
    await imaging.get_image(clinic, patient, image_id)
    for rendition in ("original", "display", "thumbnail"):
        await imaging.read_image(clinic, patient, image_id, rendition)
    rows = await AuditEntry.select(AuditEntry.action, AuditEntry.patient_id).where(
        AuditEntry.action.like("image.%")).order_by(AuditEntry.id)
    assert [r["action"] for r in rows] == ["image.uploaded", "image.listed", "image.viewed", "image.original_read",
                                           "image.display_read", "image.thumbnail_read"]
    assert {r["patient_id"] for r in rows} == {patient}


async def test_export_yields_every_original_and_erasure_removes_all_bytes(clinic):
    patient = await factories.make_patient(clinic)
    keep = await factories.make_patient(clinic)
    await samples.stored(clinic, patient, "a.png")
    dicom = samples.dicom()
    await samples.stored(clinic, patient, "b.dcm", dicom, kind="")
    await samples.stored(clinic, keep, "c.png")
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)  # handles privacy requests
    files = [item async for item in imaging.images_for_export(desk, patient)]
    assert [(name.rsplit(".", 1)[1], ctype) for name, ctype, _ in files] == [("png", "image/png"),
                                                                            ("dcm", "application/dicom")]
    assert files[1][2] == dicom
    assert await AuditEntry.exists().where((AuditEntry.action == "image.exported") & (AuditEntry.patient_id == patient))
    assert await imaging.erase_patient_images(patient) == 2
    assert await PatientImage.count() == 1 and await PatientImageBlob.count() == 2  # c.png: original + thumbnail
    assert [item async for item in imaging.images_for_export(desk, patient)] == []


async def test_dicom_without_pixel_data_is_refused_in_plain_words(clinic):
    from pydicom import dcmread, dcmwrite

    patient = await factories.make_patient(clinic)
    dataset = dcmread(io.BytesIO(samples.dicom()))
    del dataset.PixelData
    out = io.BytesIO()
    dcmwrite(out, dataset, enforce_file_format=True)
    with pytest.raises(ValidationFailed) as refused:
        await _upload(clinic, patient, ("report.dcm", out.getvalue()))
    assert "pixel data cannot be read" in refused.value.errors["files"]
    assert await PatientImage.count() == 0


def test_monochrome1_dicom_is_shown_white_on_black():
    from pydicom import dcmread, dcmwrite

    from portal.imaging.rendering import dicom_image

    dataset = dcmread(io.BytesIO(samples.dicom(rows=4, columns=4)))
    normal = dicom_image(samples.dicom(rows=4, columns=4))
    dataset.PhotometricInterpretation = "MONOCHROME1"
    out = io.BytesIO()
    dcmwrite(out, dataset, enforce_file_format=True)
    inverted = dicom_image(out.getvalue())
    assert normal.getpixel((0, 0)) == 255 - inverted.getpixel((0, 0))


async def test_a_12_bit_png_xray_gets_a_visible_display_copy(clinic):
    patient = await factories.make_patient(clinic)
    ramp = np.linspace(0, 4095, 64 * 32).reshape(32, 64).astype(np.uint16)
    out = io.BytesIO()
    Image.fromarray(ramp).save(out, "PNG")
    [image_id] = await _upload(clinic, patient, ("pano.png", out.getvalue()), kind="xray")
    original = Image.open(io.BytesIO((await imaging.read_image(clinic, patient, image_id, "original")).data))
    assert original.mode.startswith("I") and original.getextrema() == (0, 4095)  # kept at full depth
    display = Image.open(io.BytesIO((await imaging.read_image(clinic, patient, image_id, "display")).data))
    assert display.mode == "L" and display.getextrema() == (0, 255)


@pytest.mark.filterwarnings("ignore")  # pydicom and Pillow warn about what they find in broken files
def test_damaged_files_of_every_format_are_refused_never_a_crash():
    import random

    from portal.imaging import rendering as image_rendering

    rng = random.Random(7)
    bases = [samples.picture(), samples.picture("PNG"), samples.dicom(), samples.stl_binary(), samples.stl_ascii()]
    outcomes = set()
    for _ in range(300):
        data = bytearray(rng.choice(bases))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            data[position] = rng.randrange(256)
        fmt = image_formats.sniff(bytes(data))
        if fmt is None:
            outcomes.add("refused")
            continue
        try:
            image_rendering.render_here(fmt, bytes(data))  # the decoders themselves; the sandbox is tested below
            outcomes.add("rendered")
        except image_rendering.Unreadable:
            outcomes.add("unreadable")
    assert outcomes == {"refused", "rendered", "unreadable"}


def _multiframe_dicom(frames: int, side: int) -> bytes:
    """An RLE-compressed multi-frame DICOM: small on disk, `frames` × side² × 2 bytes once decoded."""
    from pydicom import dcmread
    from pydicom.uid import RLELossless

    dataset = dcmread(io.BytesIO(samples.dicom(rows=side, columns=side)))
    pixels = np.zeros((frames, side, side), dtype=np.uint16)
    pixels[0] = np.linspace(0, 4095, side * side).reshape(side, side)  # only the first frame is a ramp
    pixels[1:, :, : side // 2] = 4095
    dataset.NumberOfFrames = frames
    dataset.compress(RLELossless, pixels)
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_a_multi_frame_dicom_decodes_only_the_frame_shown():
    import tracemalloc

    from portal.imaging import rendering

    data = _multiframe_dicom(frames=96, side=512)
    all_frames = 96 * 512 * 512 * 2
    assert len(data) < all_frames / 20
    tracemalloc.start()
    try:
        image = rendering.dicom_image(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert image.size == (512, 512) and image.getpixel((0, 0)) == 0 and image.getpixel((511, 511)) == 255
    assert peak < all_frames / 4, f"decoding peaked at {peak / 2**20:.0f} MB for a {all_frames / 2**20:.0f} MB file"


def test_a_dicom_declaring_too_many_frames_is_refused_before_decoding():
    from pydicom import dcmread, dcmwrite

    from portal.imaging import rendering

    dataset = dcmread(io.BytesIO(samples.dicom(rows=4096, columns=4096)))
    dataset.NumberOfFrames = 100  # 3.2 GB declared: rows × columns × frames × 2 bytes
    out = io.BytesIO()
    dcmwrite(out, dataset, enforce_file_format=True)
    frame, total = rendering.declared_dicom_bytes(dataset)
    assert frame == 4096 * 4096 * 2 and total == frame * 100
    with pytest.raises(rendering.Unreadable, match="too many pixels \\(or frames\\)"):
        rendering.dicom_image(out.getvalue())


async def test_an_upload_renders_in_a_child_process_under_limits(clinic):
    """The multi-frame file goes through the real upload path (sandboxed); a render that needs more memory or
    CPU than its limits is stopped and refused in plain words, and the web process carries on."""
    import os

    from portal.imaging import rendering, sandbox

    patient = await factories.make_patient(clinic)
    [image_id] = await _upload(clinic, patient, ("cbct.dcm", _multiframe_dicom(frames=12, side=256)))
    display = await imaging.read_image(clinic, patient, image_id, "display")
    assert Image.open(io.BytesIO(display.data)).size == (256, 256)

    out = io.BytesIO()
    Image.new("RGB", (8000, 6000), (10, 20, 30)).save(out, "PNG", compress_level=1)
    with pytest.raises(rendering.Unreadable, match="too large or too complex"):
        sandbox.run("png", out.getvalue(), memory_bytes=150 * 2**20)
    with pytest.raises(rendering.Unreadable, match="too large or too complex"):
        sandbox.run("png", out.getvalue(), cpu_seconds=1)
    parent = os.getpid()
    assert sandbox.run("dicom", samples.dicom()).width == 48 and os.getpid() == parent


def test_a_refusal_is_one_translated_sentence_in_the_readers_language(tmp_path):
    from portal import i18n

    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(b"%PDF-1.7\n")
    with i18n.using("nl"):
        _fmt, problem = imaging._check_file(str(pdf), "", 10**6)
    assert problem == "“%(file)s” is een pdf-document, geen PNG-, JPEG-, DICOM- of STL-bestand."
