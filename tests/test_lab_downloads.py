"""The lab-portal download: a case offered as a signed, expiring link to a ZIP (slip and attachments); a fetch is a
disclosure; a forged, altered or expired link is refused and discloses nothing."""

import io
import re
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from portal.permissions import Role
from portal.tables import Disclosure, LabCase, LabDownload, OutboxMessage
from tests import factories
from tests.factories import csrf_token, post_form, sign_in_as

LINK = re.compile(r"https?://[^/\s]+(/lab-download/[\w.]+)")


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST, name="Dr. Kroon")


async def _offered(client, clinic, dentist) -> tuple[int, str]:
    patient_id = await factories.make_patient(clinic)
    case_id = (await factories.make_lab_records(clinic, dentist, patient_id))["case_id"]
    await sign_in_as(client, dentist)
    offered = await post_form(client, f"/patients/{patient_id}/lab-cases/{case_id}/offer")
    assert offered.status_code == 303
    page = await client.get(offered.headers["location"])
    assert "Valid until" in page.text
    return case_id, LINK.search(page.text).group(1)


async def _fetch(client, path: str):
    return await client.post(path, data={"_csrf_token": await csrf_token(client)})


async def test_the_lab_fetches_the_zip_by_its_link_and_the_fetch_is_a_disclosure(client, clinic, dentist):
    case_id, path = await _offered(client, clinic, dentist)
    assert (await LabCase.select(LabCase.status).where(LabCase.id == case_id).first())["status"] == "sent"
    disclosures_before = await Disclosure.count()  # the referral letter's
    [mail] = await OutboxMessage.select(OutboxMessage.recipient, OutboxMessage.text_body).where(
        OutboxMessage.idempotency_key.like("lab-download-%"))
    assert mail["recipient"] == "orders@kroonlab.test" and path in mail["text_body"]
    client.cookies.clear()  # the lab has no session
    page = await client.get(path)
    assert page.status_code == 200 and "Download the ZIP" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert await Disclosure.count() == disclosures_before  # opening the page (a mail scanner) discloses nothing
    fetched = await _fetch(client, path)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(fetched.content)).namelist()
    assert names == [f"lab-slip-{case_id}.pdf"]
    assert zipfile.ZipFile(io.BytesIO(fetched.content)).read(names[0]).startswith(b"%PDF")
    [disclosure] = await Disclosure.select().where(Disclosure.subject_type == "lab_case")
    assert disclosure["recipient_name"] == "Kroon Lab" and disclosure["subject_id"] == case_id
    assert disclosure["by_name"] == "Dr. Kroon"
    row = await LabDownload.select(LabDownload.fetches, LabDownload.zip_sha256).first()
    assert row["fetches"] == 1


async def test_a_forged_or_altered_link_is_refused(client, clinic, dentist):
    _case_id, path = await _offered(client, clinic, dentist)
    client.cookies.clear()
    download_id, expires, signature = path.rsplit("/", 1)[1].split(".")
    forged = f"/lab-download/{download_id}.{expires}.{'0' * 64}"
    stretched = f"/lab-download/{download_id}.{int(expires) + 86400}.{signature}"
    other = f"/lab-download/{int(download_id) + 1}.{expires}.{signature}"
    for bad in (forged, stretched, other, "/lab-download/garbage", f"/lab-download/{download_id}"):
        assert (await client.get(bad)).status_code == 404, bad
        assert (await _fetch(client, bad)).status_code == 404, bad
    assert await Disclosure.count().where(Disclosure.subject_type == "lab_case") == 0


async def test_an_expired_link_is_refused_and_its_zip_dropped(client, clinic, dentist):
    _case_id, path = await _offered(client, clinic, dentist)
    client.cookies.clear()
    # Expire it without touching the signed expiry: the clock moves on, the link stays the same.
    real_now = datetime.now(timezone.utc)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return real_now + timedelta(days=8)

    import portal.lab.downloads as downloads
    original = downloads.datetime
    downloads.datetime = Later
    try:
        assert (await client.get(path)).status_code == 410
        gone = await _fetch(client, path)
        assert gone.status_code == 410 and "expired" in gone.text
    finally:
        downloads.datetime = original
    assert (await LabDownload.select(LabDownload.zip).first())["zip"] is None
    assert await Disclosure.count().where(Disclosure.subject_type == "lab_case") == 0
