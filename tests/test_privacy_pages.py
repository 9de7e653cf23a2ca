"""The privacy centre reads like it is for patients: human labels and values (no formats, flags or internal
names), hashes and internal ids only in the download, long parts folded, empty kinds listed together."""

import re

from portal import consents
from portal.consents import ConsentKind
from tests import factories
from tests.privacy_helpers import sign_in_patient

EMAIL, BORN = "phone.reader@example.org", "1990-07-14"
SCHEMA_TEXT = ("E.164", "ISO 8601", "ISO 639", "ISO 3950", "(true)", "front_desk", "privacy_centre", "SHA-256",
               "Note id", "Image id", ">True<", ">False<")


async def test_my_data_speaks_plainly_and_folds(client, clinic, cal, mailbox):
    patient_id = await factories.make_patient(clinic, email=EMAIL, date_of_birth=BORN, phone_mobile="06 1234 5678",
                                              preferred_language="en")
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    await sign_in_patient(client, mailbox, EMAIL, BORN)
    for path in ("/privacy/me", "/privacy/me/consents"):
        page = (await client.get(path)).text
        assert not [s for s in SCHEMA_TEXT if s in page], path
    page = (await client.get("/privacy/me")).text
    assert "<dt>Mobile phone</dt><dd>+31612345678</dd>" in page and "<dt>Date of birth</dt>" in page
    assert "at the front desk" in page and "Appointment reminders by email" in page  # values by their labels
    assert page.count('<details class="about-category">') >= 10  # why, basis, recipients: folded
    empty = page.split('id="nothing-held"', 1)[1]
    assert 'id="referrals"' in empty and 'id="medical_history"' not in empty
    assert re.search(r'<article id="clinical_notes" class="category">.*?<details', page, re.S)
