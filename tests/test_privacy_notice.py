"""The public privacy notice: version 1 from the clinic's first moment, every version dated and readable signed
out, what each changed, and the mail of a material change linking to it."""

import re

from portal import consents
from portal.consents import ConsentKind
from portal.tables import ConsentEvent
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import wait_for_mail


async def test_a_new_clinic_has_version_one_and_consents_name_it(client, clinic):
    page = await client.get(f"/privacy/notice/{clinic.clinic_id}")
    assert page.status_code == 200 and "Canal Dental is the controller" in page.text
    assert re.search(r"Version 1 · last updated", page.text) and "What changed" not in page.text
    patient_id = await factories.make_patient(clinic)
    await consents.record_change(clinic, clinic.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))
    assert (await ConsentEvent.select(ConsentEvent.notice_version).first())["notice_version"] == "v1"


async def test_every_version_stays_readable_with_what_changed(client, other_client, clinic, mailbox):
    await factories.make_patient(clinic, email="reader@example.org")
    await sign_in_as(other_client, clinic)
    body = ("Canal Dental is the controller of your dental record. We now send X-rays to Kroon Lab. "
            "You may see, download, correct and erase your data in the privacy centre.")
    assert (await post_form(other_client, "/privacy-settings/notice",
                            {"body": body, "material": "on"})).status_code == 303
    mail = body_text((await wait_for_mail(mailbox, "reader@example.org"))[0])
    link = re.search(r"https?://\S+/privacy/notice/\d+\?version=2", mail).group(0)
    page = await client.get(link.split("testserver", 1)[-1] if "testserver" in link else
                            "/privacy/notice/" + link.split("/privacy/notice/", 1)[1])
    assert page.status_code == 200 and "Version 2 · last updated" in page.text
    changes = page.text.split('id="notice-changes"', 1)[1].split("</section>", 1)[0]
    assert "We now send X-rays to Kroon Lab." in changes and "<ins>" in changes and "<del>" in changes
    old = await client.get(f"/privacy/notice/{clinic.clinic_id}?version=1")
    assert "Canal Dental is the controller of the personal data" in old.text and "Version 2 is in force" in old.text
    assert (await client.get(f"/privacy/notice/{clinic.clinic_id}?version=9")).status_code == 404
    assert (await client.get("/privacy/notice/999999")).status_code == 404
    assert (await other_client.get(f"/privacy/notice/{clinic.clinic_id}")).status_code == 200  # staff read it too
