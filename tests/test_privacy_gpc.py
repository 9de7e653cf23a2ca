"""Global Privacy Control: a signed-in patient's browser sending `Sec-GPC: 1` objects to marketing. It is recorded
in the consent ledger once (marketing off, even when it already was), the page says so, and marketing stops."""

from portal import consents
from portal.consents import ConsentKind
from portal.tables import ConsentEvent
from tests import factories
from tests.privacy_helpers import sign_in_patient

EMAIL, BORN = "gpc.patient@example.org", "1984-02-29"
GPC = {"Sec-GPC": "1"}


async def _gpc_rows(patient_id: int) -> list[dict]:
    return await ConsentEvent.select().where((ConsentEvent.patient == patient_id) & (ConsentEvent.source == "gpc"))


async def test_the_signal_withdraws_marketing_once_and_the_pages_say_so(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email=EMAIL, date_of_birth=BORN)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    await sign_in_patient(client, mailbox, EMAIL, BORN)
    assert await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)

    without = await client.get("/privacy/me")
    assert without.status_code == 200 and "Global Privacy Control" not in without.text
    assert not await _gpc_rows(patient_id)

    first = await client.get("/privacy/me", headers=GPC)
    assert first.status_code == 200 and 'id="gpc"' in first.text and "objection to marketing" in first.text
    assert not await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)
    for path in ("/privacy/me/consents", "/privacy/me/requests", "/privacy/me"):
        assert 'id="gpc"' in (await client.get(path, headers=GPC)).text
    rows = await _gpc_rows(patient_id)
    assert [(r["kind"], r["previous"], r["granted"]) for r in rows] == [("marketing_email", True, False)]
    ledger = (await client.get("/privacy/me/consents")).text
    assert "by your browser&#39;s Global Privacy Control signal" in ledger or \
        "by your browser's Global Privacy Control signal" in ledger
    assert "front_desk" not in ledger and "at the front desk" in ledger


async def test_an_objection_is_recorded_even_when_marketing_was_already_off(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email=EMAIL, date_of_birth=BORN)
    await sign_in_patient(client, mailbox, EMAIL, BORN)
    await client.get("/privacy/me", headers=GPC)
    await client.get("/privacy/me/consents", headers=GPC)
    rows = await _gpc_rows(patient_id)
    assert [(r["previous"], r["granted"], r["notice_version"]) for r in rows] == [(False, False, "v1")]
    assert not await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)
