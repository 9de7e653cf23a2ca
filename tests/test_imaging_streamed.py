"""Uploads streamed: peak memory per request, CSRF on the streamed form, stored bytes intact, upload slots."""

import asyncio
import dataclasses
import hashlib
import io
import re
import tracemalloc

import httpx
import numpy as np
import pytest

from portal.app import create_app
from portal.imaging import formats
from portal.permissions import Role
from portal.tables import PatientImage
from portal.views import csrf
from portal.views import imaging as imaging_views
from tests import factories
from tests import image_samples as samples
from tests.factories import csrf_token, sign_in_as

MB = 2**20


def big_stl(megabytes: int, seed: int) -> bytes:
    """A binary STL of about `megabytes`, random finite triangles (kept as sent, so the bytes come back equal)."""
    triangles = (megabytes * MB - 84) // 50
    record = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])
    rows = np.zeros(triangles, dtype=record)
    rows["corners"] = np.random.default_rng(seed).uniform(-20, 20, (triangles, 3, 3))
    return b"scan".ljust(80, b" ") + triangles.to_bytes(4, "little") + rows.tobytes()


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST)


async def test_three_20_mb_files_cost_less_than_two_files_of_memory(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    token = await csrf_token(client)
    scans = [big_stl(20, seed) for seed in range(3)]
    files = [("files", (f"scan{n}.stl", io.BytesIO(data), "model/stl")) for n, data in enumerate(scans)]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = await client.post(f"/patients/{patient}/images", data={"_csrf_token": token, "kind": ""},
                                     files=files)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 303, response.text[:500]
    # Before streaming this request peaked at ~3 × 20 MB held at once plus copies; now one 1 MB chunk at a time.
    assert peak < 2 * 20 * MB + 4 * MB, f"peak {peak / MB:.1f} MB"
    ids = [row["id"] for row in await PatientImage.select(PatientImage.id).order_by(PatientImage.id)]
    assert len(ids) == 3
    for image_id, data in zip(ids, scans):
        stored = await client.get(f"/patients/{patient}/images/{image_id}/file")
        assert hashlib.sha256(stored.content).digest() == hashlib.sha256(data).digest()
        assert (await client.get(f"/patients/{patient}/images/{image_id}/thumbnail")).status_code == 200


async def test_a_file_before_the_token_or_no_token_is_refused_and_nothing_kept(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    token = await csrf_token(client)
    url = f"/patients/{patient}/images"
    scan = ("files", ("a.stl", samples.stl_binary(), "model/stl"))
    assert (await client.post(url, data={"kind": ""}, files=[scan])).status_code == 403
    assert (await client.post(url, data={"_csrf_token": "x" * 130}, files=[scan])).status_code == 403
    # The token must come before the files (the form sends it first): a file ahead of it is refused.
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.stl\"\r\n"
            f"Content-Type: model/stl\r\n\r\n").encode() + samples.stl_binary() + (
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf_token\"\r\n\r\n{token}\r\n"
        f"--{boundary}--\r\n").encode()
    late = await client.post(url, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert late.status_code == 403
    assert await PatientImage.count() == 0
    header = await client.post(url, data={"kind": ""}, files=[scan], headers={"X-CSRFToken": token})
    assert header.status_code == 303 and await PatientImage.count() == 1


async def test_a_refused_upload_re_renders_the_form_with_its_token(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, dentist)
    token = await csrf_token(client)
    response = await client.post(f"/patients/{patient}/images",
                                 data={"_csrf_token": token, "kind": "", "caption": "kept as typed"},
                                 files=[("files", ("a.pdf", b"%PDF-1.4 nothing", "application/pdf"))])
    assert response.status_code == 422 and "a PDF document" in response.text
    assert "kept as typed" in response.text
    printed = re.search(r'name="_csrf_token" value="([0-9a-f]+)"', response.text).group(1)
    assert printed != token and csrf.unmask(printed) == token  # the same token, freshly masked


async def test_uploads_past_the_concurrency_cap_get_429_with_retry_after(settings, clinic, dentist, monkeypatch):
    app = create_app(dataclasses.replace(settings, upload_concurrency=1), manage_pool=False)
    monkeypatch.setattr(imaging_views, "SLOT_WAIT_SECONDS", 0.2)
    patient = await factories.make_patient(clinic)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await sign_in_as(client, dentist)
        token = await csrf_token(client)
        release = asyncio.Event()

        async def slow_body():  # an upload whose body is still arriving holds the only slot
            yield b"--b\r\nContent-Disposition: form-data; name=\"_csrf_token\"\r\n\r\n" + token.encode() + b"\r\n"
            await release.wait()
            yield b"--b--\r\n"

        url = f"/patients/{patient}/images"
        first = asyncio.create_task(client.post(url, content=slow_body(),
                                                headers={"Content-Type": "multipart/form-data; boundary=b"}))
        await asyncio.sleep(0.3)
        busy = await client.post(url, data={"_csrf_token": token},
                                 files=[("files", ("a.stl", samples.stl_binary(), "model/stl"))])
        assert busy.status_code == 429 and busy.headers["retry-after"].isdigit()
        release.set()
        assert (await first).status_code == 422  # it had the slot: no file chosen, the form comes back
        after = await client.post(url, data={"_csrf_token": token},
                                  files=[("files", ("a.stl", samples.stl_binary(), "model/stl"))])
        assert after.status_code == 303
    assert await PatientImage.count() == 1


@pytest.mark.parametrize("data", [samples.picture("PNG"), samples.picture("JPEG"), samples.dicom(),
                                  samples.stl_binary(), samples.stl_ascii(), b"%PDF-1.4", b"solid x\nendsolid x\n",
                                  samples.stl_binary()[:-1]])
def test_sniffing_a_file_in_pieces_agrees_with_sniffing_its_bytes(data):
    assert formats.sniff_file(io.BytesIO(data), len(data))[0] == formats.sniff(data)
