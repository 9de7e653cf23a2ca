"""Languages: complete catalogues, every wrapped string extracted, each person reading their own language,
mail in the recipient's language at the SMTP server, and dates and numbers in the locale's format."""

import re
from datetime import date, datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal import consents, display, i18n
from portal.calendar import appointment_mail
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import outbox
from portal.permissions import Role
from portal.tables import Appointment, Clinic, Staff
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.mail_sink import body_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE]
# The template folders wrapped in gettext so far: nothing user-facing in them may escape extraction.
WRAPPED = ["base.html", "_fields.html", "_languages.html", "auth", "passwords", "staff", "system", "dashboard",
           "patient_visits", "public_messages", "mail", "calendar_feed",
           "calendar", "chart", "plans", "notes", "imaging", "jobs", "audit", "clinical_settings", "settings",
           "messaging", "privacy_centre", "privacy_requests", "privacy_settings", "patients", "errors", "perio",
           "calls"]
WRAPPED += ["lab", "prescriptions", "referrals"]
WRAPPED += ["contacts", "two_factor"]
WRAPPED += ["memberships"]
WRAPPED += ["billing", "billing_reports", "billing_settings"]
WRAPPED += ["billing_patient"]
WRAPPED += ["recall", "booking"]
WRAPPED += ["breaches"]
WRAPPED += ["closing"]
WRAPPED += ["patient_forms", "kiosk"]
WRAPPED += ["social"]
WRAPPED += ["chrome"]
WRAPPED += ["record_import"]
WRAPPED += ["export_keys", "previous_clinic"]
WRAPPED += ["channels"]
WRAPPED += ["families"]
WRAPPED += ["billing_payers", "billing_claims"]


def _catalogue(lang: str):
    with (ROOT / "portal" / "locale" / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def _extracted() -> set:
    """What `make messages` would extract right now, with the same configuration (babel.cfg, keywords)."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None,
                "npgettext": ((1, "c"), 2, 3), "lazy_gettext": None, "lazy_pgettext": ((1, "c"), 2)}
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


@pytest.mark.parametrize("lang", SHIPPED)
def test_a_shipped_catalogue_translates_every_extracted_string_and_nothing_is_fuzzy(lang):
    catalogue = _catalogue(lang)
    entries = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalogue if m.id}
    missing = sorted(str(key) for key in _extracted() - set(entries))
    assert not missing, f"{lang}: run `make messages` and translate: {missing[:5]}"
    untranslated = [m.id for m in entries.values()
                    if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert not untranslated, f"{lang}: untranslated or fuzzy: {untranslated[:5]}"
    for key, message in entries.items():  # placeholders survive translation
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\((\w+)\)s", sources[-1]))
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            assert set(re.findall(r"%\((\w+)\)s", text)) <= wanted | {"num", "count"}, (lang, key, text)
            assert set(re.findall(r"%\((\w+)\)s", text)) >= wanted - {"num", "count"}, (lang, key, text)


def _visible_text(template_source: str) -> list[str]:
    """Literal text of a template outside Jinja tags, comments, HTML tags and attribute-free markup."""
    text = re.sub(r"{#.*?#}", " ", template_source, flags=re.S)
    text = re.sub(r"{%\s*trans\b.*?endtrans\s*%}", " ", text, flags=re.S)  # trans blocks are extracted whole
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return [w for w in re.split(r"\s{2,}|\n", unescape(text)) if re.search(r"[A-Za-z]{3,}", w)]


# Brands, cookie names and file names are not translated.
UNTRANSLATED = {"Chairside", "session", "patient_session", "csrftoken", "lang", "gpc.json"}


def test_no_literal_text_in_a_wrapped_template_escapes_gettext():
    leaks = []
    for entry in WRAPPED:
        path = ROOT / "templates" / entry
        for template in ([path] if path.is_file() else sorted(path.rglob("*.*"))):
            if template.suffix == ".txt" and template.parent.name == "mail":
                # Plain-text mail: what is left outside tags is layout only (names and links are variables).
                leftovers = [w for w in _visible_text(template.read_text()) if w.strip(" :,.") not in UNTRANSLATED]
            else:
                leftovers = [w.strip() for w in _visible_text(template.read_text())
                             if w.strip(" :,.*·") not in UNTRANSLATED]
            leaks += [f"{template.relative_to(ROOT)}: {w!r}" for w in leftovers if w.strip()]
    assert not leaks, leaks


async def test_the_sign_in_page_in_turkish_has_lang_tr_and_no_english_left(client):
    page = await client.get("/login?lang=tr")
    assert page.status_code == 200
    assert '<html lang="tr">' in page.text
    assert "Giriş yap" in page.text and "Şifrenizi mi unuttunuz?" in page.text
    for english in ("Sign in", "Password", "Forgot your password?", "Essential cookies only"):
        assert english not in page.text
    # The choice is remembered: the next page without ?lang= is Turkish too.
    again = await client.get("/password/forgot")
    assert '<html lang="tr">' in again.text and "Bana bağlantı gönder" in again.text


async def test_the_switcher_and_the_browser_language_choose_the_sign_in_language(client):
    german = await client.get("/login", headers={"Accept-Language": "fr-FR, de;q=0.8, en;q=0.5"})
    assert '<html lang="de">' in german.text and "Anmelden" in german.text
    assert 'href="?lang=nl"' in german.text  # the switcher offers every shipped language
    unknown = await client.get("/login", headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in unknown.text and "Sign in" in unknown.text


async def test_a_wrong_password_is_refused_in_the_page_language(client, clinic):
    token = await csrf_token(client)
    response = await client.post("/login?lang=nl", data={"_csrf_token": token, "email": "nobody@example.org",
                                                          "password": "wrong", "next": "/"})
    assert response.status_code == 401
    assert "Dit e-mailadres en wachtwoord horen niet bij een actief account." in response.text


async def test_a_dutch_staff_member_sees_dutch_navigation_in_an_english_clinic(client, other_client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dekker")
    await Staff.update({Staff.language: "nl"}).where(Staff.id == dentist.id)
    await sign_in_as(client, dentist)
    page = await client.get("/", headers={"Accept-Language": "en"})
    assert '<html lang="nl">' in page.text and page.headers["content-language"] == "nl"
    assert ">Vandaag<" in page.text and ">Agenda<" in page.text and ">Patiënten<" in page.text
    assert "Uitloggen" in page.text and ">Today<" not in page.text and "Sign out" not in page.text
    # The owner of the same clinic keeps the clinic's language.
    await sign_in_as(other_client, clinic)
    owner_page = await other_client.get("/")
    assert '<html lang="en">' in owner_page.text and ">Today<" in owner_page.text


async def test_staff_pages_follow_the_clinics_language_and_the_owner_sets_a_colleagues_language(client, clinic):
    await Clinic.update({Clinic.locale: "de"}).where(Clinic.id == clinic.clinic_id)
    hygienist = await factories.make_staff(clinic, Role.HYGIENIST, name="Hanna")
    await sign_in_as(client, clinic)
    staff_list = await client.get("/staff/")
    assert '<html lang="de">' in staff_list.text and "Mitarbeiter hinzufügen" in staff_list.text
    assert "Dentalhygieniker/in" in staff_list.text and "Inhaber/in" in staff_list.text
    form = await client.get(f"/staff/{hygienist.id}")
    for english in ("Full name", "Registration number", "Save", "Cancel", "Sign Hanna out on every device"):
        assert english not in form.text
    email = await factories.email_of(hygienist)
    bad = await client.post(f"/staff/{hygienist.id}", data={
        "_csrf_token": await csrf_token(client), "name": "", "email": email, "role": "hygienist", "language": "tr",
        "active": "on"})
    assert bad.status_code == 422
    assert "Name ist ein Pflichtfeld." in bad.text and "Bitte korrigieren Sie das markierte Feld unten." in bad.text
    saved = await client.post(f"/staff/{hygienist.id}", data={
        "_csrf_token": await csrf_token(client), "name": "Hanna", "email": email, "role": "hygienist",
        "language": "tr", "active": "on"})
    assert saved.status_code == 303
    assert (await Staff.select(Staff.language).where(Staff.id == hygienist.id).first())["language"] == "tr"


async def test_a_staff_invitation_in_german_arrives_at_the_smtp_server(client, clinic, settings, mailbox):
    hygienist = await factories.make_staff(clinic, Role.HYGIENIST, name="Hanna")
    await Staff.update({Staff.language: "de"}).where(Staff.id == hygienist.id)
    await sign_in_as(client, clinic)
    response = await client.post(f"/staff/{hygienist.id}/invite", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    await outbox.deliver_due(settings)
    [message] = mailbox.to(await factories.email_of(hygienist))
    assert message["Subject"] == "Sie sind zu Canal Dental in Chairside eingeladen"
    text = body_text(message)
    assert text.startswith("Guten Tag Hanna,") and "72 Stunden lang" in text and "/password/" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="de">' in html and "Wählen Sie Ihr Passwort</a>" in html
    assert "Hello" not in text and "invited" not in message["Subject"]


async def test_a_reminder_in_german_arrives_at_the_smtp_server_with_german_dates(clinic, cal, settings, mailbox):
    patient_id = await factories.make_patient(clinic, email="jonas@example.org", preferred_language="de")
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    day = date.today() + timedelta(days=4)
    appointment_id = await factories.book(clinic, cal, patient_id, day.isoformat(), "09:30")
    row = await Appointment.select(Appointment.starts_at).where(Appointment.id == appointment_id).first()
    assert await appointment_mail.plan_reminders(row["starts_at"] - timedelta(hours=47)) == 1
    await outbox.deliver_due(settings)
    [reminder] = [m for m in mailbox.to("jonas@example.org") if m["X-Chairside-Key"].startswith("reminder:")]
    with i18n.using("de", "NL"):
        german_day = display.format_day(day, "long")
    assert reminder["Subject"] == f"Erinnerung: Ihr Termin am {german_day} um 09:30"
    text = body_text(reminder)
    assert text.startswith("Guten Tag Anna,") and "Check-up bei Dr. Dekker" in text
    assert f"{german_day} um 09:30" in text and "Wir erinnern Sie an Ihren Termin bei Canal Dental:" in text
    html = reminder.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="de">' in html and 'href="mailto:desk@canal-dental.test"' in html


async def test_a_patient_without_a_shipped_language_gets_the_clinics(clinic, cal, settings, mailbox):
    await Clinic.update({Clinic.locale: "nl"}).where(Clinic.id == clinic.clinic_id)
    patient_id = await factories.make_patient(clinic, email="pierre@example.org", preferred_language="fr")
    await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=5)).isoformat(), "10:00")
    await outbox.deliver_due(settings)
    [booked] = mailbox.to("pierre@example.org")
    assert booked["Subject"].startswith("Uw afspraak is gemaakt:")


def test_dates_and_money_follow_the_locale_and_the_clinic_zone():
    moment = datetime(2026, 11, 30, 13, 5, tzinfo=timezone.utc)
    with i18n.using("en", "GB"):
        assert display.format_instant(moment, "Europe/Amsterdam") == "Mon, 30 Nov 2026, 14:05"
        assert display.format_day(date(1981, 4, 26)) == "26 Apr 1981"
        assert display.money(105, "EUR") == "€105.00"
    with i18n.using("nl", "NL"):
        assert display.format_instant(moment, "Europe/Amsterdam", "long_date") == "30 november 2026"
        assert display.money(1234.5, "EUR") == "€\xa01.234,50"  # a no-break space, as CLDR writes it
        assert display.first_weekday() == 0
    with i18n.using("de", "DE"):
        assert display.format_instant(moment, "Europe/Berlin", "date") == "30.11.2026"
        assert display.number(1234.5) == "1.234,5"
    with i18n.using("tr", "TR"):
        assert display.format_day(date(2026, 11, 30), "weekday") == "30 Kasım 2026 Pazartesi"
        assert display.format_instant(moment, "Europe/Istanbul", "time") == "16:05"
    with i18n.using("en", "US"):
        assert display.format_instant(moment, "America/New_York", "time") == "8:05 AM"
        assert display.first_weekday() == 6


def test_labels_are_translated_when_shown():
    with i18n.using("nl"):
        assert display.label("dentist", "role") == "Tandarts"
    with i18n.using("en"):
        assert display.label("dentist", "role") == "Dentist"


async def test_a_patient_reads_the_privacy_centre_in_their_language_and_a_guardian_in_theirs(client, other_client,
                                                                                             clinic, mailbox):
    from portal import patients
    from portal.tables import Guardian
    from tests.privacy_helpers import sign_in_patient

    start = await client.get("/privacy?lang=nl")
    assert '<html lang="nl">' in start.text and 'href="?lang=tr"' in start.text  # the switcher
    born = "1985-04-12"
    await factories.make_patient(clinic, given_name="Elif", email="elif@example.org", date_of_birth=born,
                                 preferred_language="tr")
    me = await sign_in_patient(client, mailbox, "elif@example.org", born)
    if me.status_code == 303:  # the chooser goes straight on when there is one record
        me = await client.get(me.headers["location"])
    assert me.status_code == 200 and '<html lang="tr">' in me.text  # the patient's language beats the cookie
    young = (date.today() - timedelta(days=365 * 8)).isoformat()
    child = await factories.make_patient(clinic, given_name="Tim", email="", date_of_birth=young,
                                         preferred_language="tr")
    guardian_id = await patients.add_guardian(clinic, child, patients.GuardianForm(name="Mia", email="mia@example.org"))
    await Guardian.update({Guardian.preferred_language: "de"}).where(Guardian.id == guardian_id)
    await factories.confirm_addresses(clinic, child)
    guardian_page = await sign_in_patient(other_client, mailbox, "mia@example.org", young)
    if guardian_page.status_code == 303:
        guardian_page = await other_client.get(guardian_page.headers["location"])
    assert guardian_page.status_code == 200 and '<html lang="de">' in guardian_page.text


async def test_a_turkish_patient_confirms_on_whatsapp_with_evet_and_is_answered_in_turkish(settings, clinic, cal):
    import hashlib
    import hmac
    import json
    from dataclasses import replace

    import httpx

    from portal.app import create_app
    from portal.tables import OutboxMessage

    await Clinic.update({Clinic.whatsapp_phone_number_id: "1098765"}).where(Clinic.id == clinic.clinic_id)
    patient_id = await factories.make_patient(clinic, phone_mobile="+31611122244", preferred_language="tr")
    day = date.today() + timedelta(days=3)
    appointment_id = await factories.book(clinic, cal, patient_id, day.isoformat(), "14:00")
    body = json.dumps({"entry": [{"changes": [{"value": {
        "metadata": {"phone_number_id": "1098765"}, "contacts": [{"profile": {"name": "Elif"}, "wa_id": "31611122244"}],
        "messages": [{"from": "31611122244", "id": "wamid.TR1", "type": "text", "text": {"body": "Evet"}}]}}]}]})
    app = create_app(replace(settings, whatsapp_app_secret="s3cret"), manage_pool=False)
    signature = "sha256=" + hmac.new(b"s3cret", body.encode(), hashlib.sha256).hexdigest()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as wa:
        response = await wa.post("/webhooks/whatsapp", content=body, headers={
            "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
    assert response.status_code == 200
    row = await Appointment.select(Appointment.status).where(Appointment.id == appointment_id).first()
    assert row["status"] == "confirmed"
    [reply] = await OutboxMessage.select().where(OutboxMessage.channel == "whatsapp")
    with i18n.using("tr", "NL"):
        when = display.format_instant(datetime.combine(day, datetime.min.time()).replace(hour=14), "UTC")
    assert reply["text_body"] == f"Teşekkürler, {when} tarihli randevunuz onaylandı."


async def test_a_staff_member_chooses_their_own_language_from_the_menu(client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    await sign_in_as(client, receptionist)
    response = await client.post("/account/language", data={
        "_csrf_token": await csrf_token(client), "language": "tr", "next": "/patients"})
    assert response.status_code == 303 and response.headers["location"] == "/patients"
    page = await client.get("/patients")
    assert '<html lang="tr">' in page.text and ">Hastalar<" in page.text
    forged = await client.post("/account/language", data={
        "_csrf_token": await csrf_token(client), "language": "xx", "next": "https://evil.example/"})
    assert forged.headers["location"] == "/"
    assert (await Staff.select(Staff.language).where(Staff.id == receptionist.id).first())["language"] == "tr"


async def test_an_error_page_speaks_the_readers_language(client):
    missing = await client.get("/no-such-page", headers={"Accept-Language": "de-DE"})
    assert missing.status_code == 404 and "Nicht gefunden" in missing.text and "Not found" not in missing.text


async def test_a_privacy_sign_in_mail_in_german_arrives_at_the_smtp_server(client, clinic, mailbox):
    from tests.privacy_helpers import request_link, wait_for_mail

    born = "1979-02-03"
    await factories.make_patient(clinic, given_name="Jonas", email="jonas@example.org", date_of_birth=born,
                                 preferred_language="de")
    response = await request_link(client, "jonas@example.org", born)  # asked from an English page
    assert response.status_code == 200
    [message] = await wait_for_mail(mailbox, "jonas@example.org")
    assert message["Subject"] == "Ihr Anmeldelink für Canal Dental"
    text = body_text(message)
    assert text.startswith("Öffnen Sie diesen Link innerhalb von 15 Minuten, um die Daten zu sehen, die Canal Dental")
    assert "/privacy/link/" in text and "Der Link funktioniert einmal." in text


def test_every_privacy_category_speaks_the_readers_language():
    """A category added by any room shows its title, purpose, legal basis and field labels through the catalogues:
    a plain English string here would reach a Dutch patient's access page untranslated."""
    from babel.support import LazyProxy

    import portal.privacy  # noqa: F401  (registers every category)
    from portal.privacy.registry import all_categories

    plain = []
    for category in all_categories():
        texts = {"title": category.title, "purpose": category.purpose, "legal_basis": category.legal_basis,
                 **{f"field {name}": label for name, label in category.fields.items()},
                 **{f"correctable {name}": label for name, label in category.correctable.items()}}
        plain += [f"{category.name}: {where}" for where, text in texts.items() if not isinstance(text, LazyProxy)]
    assert not plain, plain
