"""Imaging over HTTP: multipart uploads, refusals re-render the form, byte routes' headers, roles, audit."""

import dataclasses
import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from portal.app import create_app
from portal.permissions import Role
from portal.tables import AuditEntry, PatientImage
from tests import factories
from tests import image_samples as samples
from tests.factories import csrf_token, sign_in_as


def gallery(patient_id: int) -> str:
    return f"/patients/{patient_id}/images"


async def _post_files(client, patient_id, files, **fields):
    token = await csrf_token(client)
    return await client.post(gallery(patient_id), data={"_csrf_token": token, "kind": "", **fields},
                             files=[("files", f) for f in files])


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST)


async def test_dentist_uploads_several_files_in_one_request(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    response = await _post_files(client, patient, [
        ("front.jpg", samples.picture("JPEG", orientation=6), "image/jpeg"),
        ("bitewing.dcm", samples.dicom(), "application/octet-stream"),
        ("upper.stl", samples.stl_binary(), "application/sla"),
        ("lower.stl", samples.stl_ascii(), ""),
    ], teeth="16 26", caption="Intake")
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    assert "4 files uploaded." in page.text
    assert len(re.findall(r'<img src="/patients/\d+/images/\d+/thumbnail"', page.text)) == 4
    assert page.text.count("Intake") == 4 and "16 26" in page.text
    kinds = sorted(r["kind"] for r in await PatientImage.select(PatientImage.kind))
    assert kinds == ["photo", "scan", "scan", "xray"]


async def test_byte_routes_send_private_typed_and_disposed_responses(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    photo = await samples.stored(clinic, patient, "a.jpg", samples.picture(), kind="photo")
    dicom = await samples.stored(clinic, patient, "b.dcm", samples.dicom())
    scan = await samples.stored(clinic, patient, "c.stl", samples.stl_binary(), kind="")
    await sign_in_as(client, dentist)
    expected = [(photo, "file", "image/jpeg", "inline"), (photo, "thumbnail", "image/jpeg", "inline"),
                (photo, "display", "image/jpeg", "inline"), (dicom, "file", "application/dicom", "attachment"),
                (dicom, "display", "image/png", "inline"), (scan, "file", "model/stl", "attachment"),
                (scan, "thumbnail", "image/jpeg", "inline")]
    for image_id, route, content_type, disposition in expected:
        response = await client.get(f"{gallery(patient)}/{image_id}/{route}")
        assert response.status_code == 200, (image_id, route)
        assert response.headers["content-type"] == content_type, (image_id, route)
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"].startswith(f'{disposition}; filename="')
    assert (await client.get(f"{gallery(patient)}/{scan}/display")).status_code == 404
    exif = Image.open(io.BytesIO((await client.get(f"{gallery(patient)}/{photo}/file")).content)).getexif()
    assert dict(exif) == {}


async def test_a_png_name_with_pdf_bytes_is_refused_beside_the_field(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    response = await _post_files(client, patient, [("xray.png", b"%PDF-1.7\n1 0 obj\n", "image/png"),
                                                   ("ok.jpg", samples.picture(), "image/jpeg")])
    assert response.status_code == 422
    assert "“xray.png” is a PDF document, not a PNG, JPEG, DICOM or STL file." in response.text
    assert 'id="e-files"' in response.text and "Nothing was uploaded." in response.text
    assert await PatientImage.count() == 0


@pytest.mark.parametrize("files", [[("empty.jpg", b"", "image/jpeg")],
                                   [("noise.dcm", bytes(range(256)) * 8, "application/dicom")], []])
async def test_empty_random_or_missing_files_are_refused(client, clinic, dentist, files):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    response = await _post_files(client, patient, files)
    assert response.status_code == 422 and 'id="e-files"' in response.text
    assert await PatientImage.count() == 0


async def test_oversize_files_and_bodies_are_refused(settings, clinic, dentist):
    small = create_app(dataclasses.replace(settings, image_max_bytes=3000), manage_pool=False)
    patient = await factories.make_patient(clinic)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://testserver") as client:
        await sign_in_as(client, dentist)
        noise = np.random.default_rng(1).integers(0, 255, (60, 60, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(noise, "RGB").save(out, "PNG")
        big = out.getvalue()
        assert len(big) > 3000
        response = await _post_files(client, patient, [("big.png", big, "image/png")])
        assert response.status_code == 422 and "is larger than 3000 bytes" in response.text
        huge = await _post_files(client, patient, [("huge.png", b"\x89PNG" + bytes(3 * 2**20), "image/png")])
        assert huge.status_code == 413 and "Too large" in huge.text
    assert await PatientImage.count() == 0


async def test_receptionist_gets_403_everywhere_and_sees_no_link(client, clinic, dentist, other_client):
    patient = await factories.make_patient(clinic)
    image_id = await samples.stored(clinic, patient)
    await sign_in_as(other_client, dentist)
    assert "Images</a>" in (await other_client.get(f"/patients/{patient}")).text
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    assert "/images" not in (await client.get(f"/patients/{patient}")).text
    for suffix in ("", f"/{image_id}", f"/{image_id}/file", f"/{image_id}/display", f"/{image_id}/thumbnail"):
        assert (await client.get(gallery(patient) + suffix)).status_code == 403, suffix
    response = await _post_files(client, patient, [("a.jpg", samples.picture(), "image/jpeg")])
    assert response.status_code == 403
    assert await PatientImage.count() == 1


async def test_foreign_patient_and_image_are_404(client, clinic, other_clinic):
    patient = await factories.make_patient(clinic)
    image_id = await samples.stored(clinic, patient)
    own_patient = await factories.make_patient(other_clinic)
    await sign_in_as(client, other_clinic)
    for url in (gallery(patient), f"{gallery(patient)}/{image_id}/file", f"{gallery(own_patient)}/{image_id}",
                f"{gallery(own_patient)}/{image_id}/thumbnail"):
        assert (await client.get(url)).status_code == 404, url
    response = await _post_files(client, patient, [("a.jpg", samples.picture(), "image/jpeg")])
    assert response.status_code == 404 and await PatientImage.count() == 1


async def test_gallery_filter_viewer_and_reads_are_audited(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    xray = await samples.stored(clinic, patient, "x.png")
    scan = await samples.stored(clinic, patient, "s.stl", samples.stl_ascii(), kind="")
    await sign_in_as(client, dentist)
    fragment = await client.get(gallery(patient) + "?kind=scan", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="image-grid"')
    assert f"/images/{scan}/thumbnail" in fragment.text and f"/images/{xray}/thumbnail" not in fragment.text
    viewer = await client.get(f"{gallery(patient)}/{xray}")
    assert "data-zoom-viewport" in viewer.text and f"/images/{xray}/display" in viewer.text
    assert 'src="/static/js/image-viewer.js"' in viewer.text
    stl_viewer = await client.get(f"{gallery(patient)}/{scan}")
    assert "data-stl-viewer" in stl_viewer.text and 'type="module" src="/static/js/stl-viewer.js"' in stl_viewer.text
    await client.get(f"{gallery(patient)}/{xray}/thumbnail")
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.actor_id == dentist.id) & AuditEntry.action.like("image.%")).order_by(AuditEntry.id)]
    assert actions == ["image.listed", "image.viewed", "image.viewed", "image.thumbnail_read"]


async def test_three_js_and_its_add_ons_are_served_locally_with_relative_imports(client):
    for name in ("three.module.js", "three.core.js", "STLLoader.js", "OrbitControls.js"):
        response = await client.get(f"/static/vendor/three/{name}")
        assert response.status_code == 200, name
        assert "from 'three'" not in response.text, name


async def test_imaging_pages_keep_the_csp_promise(client, clinic):
    patient = await factories.make_patient(clinic)
    xray = await samples.stored(clinic, patient)
    scan = await samples.stored(clinic, patient, "s.stl", samples.stl_binary(), kind="")
    await sign_in_as(client, clinic)
    for url in (gallery(patient), f"{gallery(patient)}/{xray}", f"{gallery(patient)}/{scan}"):
        response = await client.get(url)
        assert response.headers["cache-control"] == "no-store"
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert 'src="/static/' in tag, (url, tag)
        assert re.search(r"<script[^>]*>\s*[^<\s]", response.text) is None, url  # no inline bodies
        assert re.search(r"\s(on\w+|style)=", response.text) is None, url


async def test_a_boosted_link_to_the_viewer_becomes_a_full_page_load(client, clinic):
    patient = await factories.make_patient(clinic)
    xray = await samples.stored(clinic, patient)
    await sign_in_as(client, clinic)
    url = f"{gallery(patient)}/{xray}"
    response = await client.get(url, headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.headers["hx-redirect"] == url
    assert not await AuditEntry.exists().where(AuditEntry.action == "image.viewed")
