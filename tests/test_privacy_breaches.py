"""The breach register (Art. 33/34): recorded with its window and categories, the affected patients found from the
audit trail, a 72-hour clock on the owner's dashboard, the patients told in their language, exported, audited."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal import patients
from portal.permissions import Role
from portal.tables import AuditEntry, Breach, BreachPatient
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import wait_for_mail


def _form(**fields) -> dict:
    today = factories.clinic_today().isoformat()
    an_hour_ago = (datetime.now(ZoneInfo("Europe/Amsterdam")) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    values = {"what": "A laptop with the day list was stolen from a car", "discovered_at": an_hour_ago,
              "occurred_from": today, "occurred_to": today, "categories": ["identity", "contact"],
              "consequences": "Names and phone numbers may be read", "measures": "Disk encrypted; passwords reset",
              "high_risk": "on"}
    values.update(fields)
    return {k: v for k, v in values.items() if v is not None}


async def test_a_breach_is_recorded_with_its_patients_and_its_clock(client, clinic, mailbox):
    seen = await factories.make_patient(clinic, given_name="Sanne", email="sanne@example.org",
                                        preferred_language="nl")
    await patients.get_patient(clinic, seen)  # read today: in the window
    await sign_in_as(client, clinic)
    bad = await post_form(client, "/breaches", _form(what="", categories=[], occurred_to="2000-01-01"))
    assert bad.status_code == 422
    for field in ("what", "categories", "occurred_to"):
        assert f'id="e-{field}"' in bad.text
    assert await Breach.count() == 0
    recorded = await post_form(client, "/breaches", _form())
    assert recorded.status_code == 303
    page = await client.get(recorded.headers["location"])
    assert "hours left to tell the authority" in page.text
    assert [r["patient_id"] for r in await BreachPatient.select(BreachPatient.patient_id)] == [seen]
    dashboard = await client.get("/dashboard/figures")
    assert "hours left to tell the supervisory authority" in dashboard.text
    breach_id = (await Breach.select(Breach.id).first())["id"]
    assert (await post_form(client, f"/breaches/{breach_id}/notify")).status_code == 303
    mail = body_text((await wait_for_mail(mailbox, "sanne@example.org"))[0])
    assert "laptop" in mail and "privacy@canal-dental.test" in mail and "beveiliging" in mail  # in Dutch
    again = await post_form(client, f"/breaches/{breach_id}/notify")
    assert again.status_code == 422 and "already been told" in again.text
    told = await post_form(client, f"/breaches/{breach_id}/authority", {"reference": "AP-2026-123"})
    assert told.status_code == 303
    assert "hours left" not in (await client.get("/dashboard/figures")).text
    csv = (await client.get("/breaches/export.csv")).text
    assert "AP-2026-123" in csv and "Sanne" not in csv
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action)}
    assert {"privacy.breach_recorded", "privacy.breach_patients_told", "privacy.breach_authority_told",
            "privacy.breach_register_exported"} <= actions


async def test_a_late_clock_says_so(client, clinic):
    await sign_in_as(client, clinic)
    earlier = (datetime.now(timezone.utc) - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")
    await post_form(client, "/breaches", _form(discovered_at=earlier, high_risk=None))
    assert "have passed" in (await client.get("/dashboard/figures")).text
    breach_id = (await Breach.select(Breach.id).first())["id"]
    refused = await post_form(client, f"/breaches/{breach_id}/notify")
    assert refused.status_code == 422 and "high risk" in refused.text


async def test_only_the_owner_keeps_the_register(client, clinic):
    await sign_in_as(client, await factories.make_staff(clinic, Role.DENTIST))
    assert (await client.get("/breaches")).status_code == 403
    assert "supervisory authority" not in (await client.get("/dashboard/figures")).text
