"""Languages on the pages wrapped last: the clinic's language chosen by the owner, refusals and labels of the
calendar, chart and privacy modules in the reader's language, and the privacy registry in the patient's."""

import json

from portal import i18n
from portal.charts import tooth_chart_svg
from portal.permissions import Role
from portal.tables import AuditEntry, Clinic, Staff
from tests import factories
from tests.factories import post_form, sign_in_as


async def test_the_owner_sets_the_clinics_language_and_staff_without_their_own_read_it(client, other_client,
                                                                                       clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    await sign_in_as(client, clinic)
    page = await client.get("/settings/")
    assert "Clinic language" in page.text and 'name="clinic_language"' in page.text
    refused = await post_form(client, "/settings/language", {"clinic_language": "xx"})
    assert refused.status_code == 422 and "Choose from the list." in refused.text
    assert (await Clinic.select(Clinic.locale).where(Clinic.id == clinic.clinic_id).first())["locale"] == "en"
    saved = await post_form(client, "/settings/language", {"clinic_language": "de"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("#language")
    assert (await Clinic.select(Clinic.locale).where(Clinic.id == clinic.clinic_id).first())["locale"] == "de"
    assert await AuditEntry.count().where(AuditEntry.action == "clinic.language") == 1
    again = await client.get("/settings/")
    assert '<html lang="de">' in again.text and "Sprache der Praxis" in again.text and "Montag" in again.text
    await sign_in_as(other_client, receptionist)
    board = await other_client.get("/")
    assert '<html lang="de">' in board.text and "Patienten" in board.text


async def test_a_receptionist_may_not_set_the_clinics_language(client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    response = await post_form(client, "/settings/language", {"clinic_language": "nl"})
    assert response.status_code == 403
    assert (await Clinic.select(Clinic.locale).where(Clinic.id == clinic.clinic_id).first())["locale"] == "en"


async def test_a_dutch_owner_is_refused_in_dutch_with_dutch_day_names(client, clinic):
    await Staff.update({Staff.language: "nl"}).where(Staff.id == clinic.id)
    await sign_in_as(client, clinic)
    response = await post_form(client, "/settings/hours", {"opens_0": "17:00", "closes_0": "08:00"})
    assert response.status_code == 422
    assert "Maandag: vul een begin en een later einde in, bijv. 08:00 en 17:30." in response.text
    assert "Openingstijden" in response.text and "Opening hours" not in response.text


async def test_the_tooth_summary_speaks_the_readers_language():
    state = {"surfaces": {"m": ("caries", "planned"), "o": ("caries", "planned")}, "whole": {"crown": "existing"}}
    with i18n.using("de"):
        german = tooth_chart_svg._summary(36, "fdi", state)
    assert german.startswith("Zahn 36: Karies ") and "(geplant)" in german and "Krone (vorhanden)" in german
    with i18n.using("en"):
        assert tooth_chart_svg._summary(11, "fdi", {"surfaces": {}, "whole": {}}) == "Tooth 11: no findings"


async def test_a_turkish_patient_reads_the_registry_in_turkish_and_the_schema_stays_json(client, clinic, mailbox):
    from tests.privacy_helpers import sign_in_patient

    born = "1985-04-12"
    await factories.make_patient(clinic, given_name="Elif", email="elif@example.org", date_of_birth=born,
                                 preferred_language="tr")
    me = await sign_in_patient(client, mailbox, "elif@example.org", born)
    if me.status_code == 303:
        me = await client.get(me.headers["location"])
    assert me.status_code == 200 and '<html lang="tr">' in me.text
    for turkish in ("Kimlik", "İletişim bilgileri", "Kaydınıza kimler erişti", "Hukuki dayanak",
                    "GDPR md. 9(2)(h) (sağlık hizmeti)", "Talep üzerine her zaman silinebilir"):
        assert turkish in me.text, turkish
    for english in ("Who accessed your record", "Contact details", "health care", "Erasable at any time"):
        assert english not in me.text, english
    schema = await client.get("/privacy/schema?lang=tr")
    assert schema.status_code == 200 and json.loads(schema.text)["properties"]["format"]
    assert "Kimlik" in schema.text  # the registry's lazy titles become plain JSON text


async def test_an_ical_feed_names_a_restricted_record_in_the_providers_language(client, other_client, clinic):
    from datetime import date, datetime, timedelta, timezone

    import icalendar

    from portal.tables import Patient

    cal = await factories.make_calendar(clinic)
    await Staff.update({Staff.language: "de"}).where(Staff.id == cal["dentist"].id)
    patient = await factories.make_patient(clinic, given_name="Erasmus", family_name="Kok")
    await factories.book(clinic, cal, patient, (date.today() + timedelta(days=7)).isoformat(), "10:00")
    await Patient.update({Patient.isolated_at: datetime.now(timezone.utc)}).where(Patient.id == patient)
    await sign_in_as(client, cal["dentist"])
    page = await post_form(client, "/account/calendar-feed/rotate")
    url = page.text.split('id="feed-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    feed = await other_client.get(url.removeprefix("http://testserver"))
    [event] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["summary"]) == "Gesperrte Akte · Check-up"
    assert "Erasmus" not in feed.text and "Restricted" not in feed.text


async def test_a_privacy_decision_mail_is_written_in_the_patients_german_at_the_smtp_server(client, clinic,
                                                                                            mailbox):
    from portal.privacy import requests
    from tests.mail_sink import body_text
    from tests.privacy_helpers import wait_for_mail

    patient_id = await factories.make_patient(clinic, email="jonas@example.org", preferred_language="de")
    request_id = await requests.file_on_behalf(clinic, patient_id, requests.OnBehalfForm(
        kind="access", channel="phone", identity_check="Called back on the number on file", details="A copy"))
    await sign_in_as(client, clinic)  # the owner reads English; the patient gets German
    refused = await post_form(client, f"/privacy-requests/{request_id}/decide",
                              {"decision": "refused", "reason": "Keine Unterlagen"})
    assert refused.status_code == 303
    [mail] = await wait_for_mail(mailbox, "jonas@example.org")
    assert mail["Subject"] == f"Ihr Antrag {request_id}: abgelehnt"
    assert body_text(mail).startswith("Ihr Antrag (Auskunft über Daten) wurde abgelehnt.")
    assert "Keine Unterlagen" in body_text(mail) and "has been" not in body_text(mail)


async def test_a_dutch_dentist_sees_derived_alerts_and_note_templates_in_dutch(client, clinic):
    from portal.charts import medical_history

    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dekker")
    await Staff.update({Staff.language: "nl"}).where(Staff.id == dentist.id)
    patient = await factories.make_patient(clinic, given_name="Ines")
    await medical_history.save_history(dentist, patient, medical_history.HistoryForm(allergies="Penicillin (rash)"))
    await sign_in_as(client, dentist)
    chart = await client.get(f"/patients/{patient}/chart")
    assert chart.status_code == 200 and "Penicillineallergie" in chart.text and "Penicillin allergy" not in chart.text
    new_note = await client.get(f"/patients/{patient}/notes/new?template=exam")
    assert new_note.status_code == 200
    assert "Klacht:" in new_note.text and "Anamnese doorgenomen: ja" in new_note.text
    assert "Complaint:" not in new_note.text


def test_names_and_reasons_the_history_keeps_as_written_are_shown_in_the_readers_language():
    from portal import display, i18n
    from portal.calendar import scheduling

    with i18n.using("nl"):
        assert display.label(scheduling.WHATSAPP_REPLY.name, "changer") == "Patiënt (WhatsApp)"
        assert display.label("Cancelled by the patient on WhatsApp", "cancel_reason") == (
            "Door de patiënt via WhatsApp geannuleerd")
        assert display.label("Dr. Dekker", "changer") == "Dr. Dekker"  # a staff member's own name as it is
