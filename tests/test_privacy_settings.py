"""Owner pages: processors register, versioned privacy notice (material changes mailed), Art. 30 record,
age of digital consent."""

from portal.permissions import Role
from portal.tables import Clinic, PrivacyNotice, Processor
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.privacy_helpers import wait_for_mail


async def test_processors_appear_as_recipients_and_in_the_art_30_record(client, clinic):
    await sign_in_as(client, clinic)
    bad = await post_form(client, "/privacy-settings/processors", {"name": "", "kind": "hosting"})
    assert bad.status_code == 422
    ok = await post_form(client, "/privacy-settings/processors", {"name": "Hetzner", "kind": "hosting",
                                                                  "purpose": "Servers", "location": "Germany"})
    assert ok.status_code == 303
    record = await client.get("/privacy-settings/record")
    assert record.status_code == 200
    assert "Hetzner" in record.text and "Appointments" in record.text and "Art. 30" in record.text
    processor_id = (await Processor.select(Processor.id).first())["id"]
    assert (await post_form(client, f"/privacy-settings/processors/{processor_id}/remove")).status_code == 303
    assert await Processor.count() == 0


async def test_a_material_notice_change_mails_every_patient_with_an_email(client, clinic, mailbox):
    await factories.make_patient(clinic, email="a@example.org")
    await factories.make_patient(clinic, email="b@example.org")
    await factories.make_patient(clinic, email="")
    await sign_in_as(client, clinic)
    await post_form(client, "/privacy-settings/notice", {"body": "First version"})
    assert not mailbox.to("a@example.org")
    await post_form(client, "/privacy-settings/notice", {"body": "We now use a lab", "material": "on"})
    for address in ("a@example.org", "b@example.org"):
        assert "version 3" in (await wait_for_mail(mailbox, address))[0].get_body().get_content()
    versions = await PrivacyNotice.select(PrivacyNotice.version, PrivacyNotice.material).order_by(PrivacyNotice.version)
    assert [(v["version"], v["material"]) for v in versions] == [(1, False), (2, False), (3, True)]  # 1: default


async def test_age_of_digital_consent_is_between_13_and_16(client, clinic):
    await sign_in_as(client, clinic)
    assert (await post_form(client, "/privacy-settings/consent-age", {"age": "12"})).status_code == 422
    assert (await post_form(client, "/privacy-settings/consent-age", {"age": "13"})).status_code == 303
    assert (await Clinic.select(Clinic.digital_consent_age).first())["digital_consent_age"] == 13


async def test_only_the_owner_edits_privacy_settings(client, clinic):
    await sign_in_as(client, await factories.make_staff(clinic, Role.RECEPTIONIST))
    assert (await client.get("/privacy-settings")).status_code == 403
    assert (await post_form(client, "/privacy-settings/notice", {"body": "x"})).status_code == 403
