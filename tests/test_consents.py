"""The consent ledger: the newest row is the answer, rows are never changed, restriction stops contact."""

from datetime import datetime, timezone

import asyncpg
import pytest

from portal import consents, db
from portal.consents import ConsentChange, ConsentKind
from portal.errors import NotFound
from portal.tables import ConsentEvent, Patient
from tests import factories


async def test_changes_append_rows_and_the_newest_answers(clinic):
    patient_id = await factories.make_patient(clinic)
    assert not await consents.may_contact(patient_id, ConsentKind.REMINDER_EMAIL)
    change = ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk", "v1")
    assert await consents.record_change(clinic, clinic.clinic_id, patient_id, change)
    assert not await consents.record_change(clinic, clinic.clinic_id, patient_id, change)  # no change, no row
    assert await consents.may_contact(patient_id, ConsentKind.REMINDER_EMAIL)
    assert not await consents.may_contact(patient_id, ConsentKind.REMINDER_SMS)
    await consents.record_change(None, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, False, "unsubscribe_link"))
    assert not await consents.may_contact(patient_id, ConsentKind.REMINDER_EMAIL)
    rows = await consents.ledger(patient_id)
    assert [(r["previous"], r["granted"], r["actor_kind"]) for r in rows] == [(False, True, "staff"),
                                                                              (True, False, "unsubscribe")]


async def test_restriction_stops_contact_despite_consent(clinic):
    patient_id = await factories.make_patient(clinic)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    await Patient.update({Patient.restricted_at: datetime.now(timezone.utc)}).where(Patient.id == patient_id)
    assert not await consents.may_contact(patient_id, ConsentKind.MARKETING_EMAIL)


async def test_ledger_rows_cannot_be_changed_or_deleted(clinic, other_clinic):
    patient_id = await factories.make_patient(clinic)
    with pytest.raises(NotFound):  # another clinic's staff cannot write this patient's ledger
        await consents.record_change(other_clinic, other_clinic.clinic_id, patient_id,
                                     ConsentChange(ConsentKind.CASE_PHOTOS, True, "front_desk"))
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.CASE_PHOTOS, True, "front_desk"))
    for sql in ("UPDATE consent_event SET granted = false", "DELETE FROM consent_event"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await db.run_sql(sql)
    assert await ConsentEvent.count() == 1
