"""Families and guardians (issue 15): a guardian who is a patient here is linked, not typed; a family shares one
address that staff apply to its members; another clinic's patients are refused everywhere."""

from datetime import date, timedelta

from portal.families import guardians, households
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import (
    AuditEntry,
    BillingAccount,
    BillingMember,
    Family,
    FamilyMember,
    Guardian,
    Patient,
    PatientSignInLink,
)
from tests import factories
from tests.factories import csrf_token, post_form, sign_in_as
from tests.privacy_helpers import request_link, sign_in_patient

CHILD_BORN = (date.today() - timedelta(days=365 * 8)).isoformat()
HX = {"HX-Request": "true"}


async def _desk(client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    return desk


async def test_a_guardian_is_linked_from_the_typeahead_and_signs_in_with_their_confirmed_address(client, other_client,
                                                                                                 clinic, mailbox):
    mother = await factories.make_patient(clinic, given_name="Mia", family_name="Bakker", email="mia@example.org")
    child = await factories.make_patient(clinic, given_name="Tim", family_name="Bakker", email="",
                                         date_of_birth=CHILD_BORN)
    await _desk(other_client, clinic)
    page = await other_client.get(f"/patients/{child}")
    assert "A patient of this clinic" in page.text and "not a patient here" in page.text
    found = await other_client.get(f"/patients/{child}/family/options?field=guardian_patient&q=mia", headers=HX)
    assert f'name="guardian_patient" value="{mother}"' in found.text
    linked = await post_form(other_client, f"/patients/{child}/guardians/link",
                             {"guardian_patient": str(mother), "link_relationship": "mother"})
    assert linked.status_code == 303, linked.text
    page = await other_client.get(f"/patients/{child}")
    assert f'href="/patients/{mother}"><strong>Mia Bakker</strong></a>' in page.text
    block = await other_client.get(f"/patients/{mother}/family", headers=HX)
    assert "Guardian of" in block.text and f'href="/patients/{child}">Tim Bakker</a>' in block.text
    row = await Guardian.select().first()
    assert (row["guardian_patient"], row["name"], row["email"]) == (mother, "Mia Bakker", "mia@example.org")
    # The privacy centre: Mia signs in with her own address and the child's date of birth, and acts for Tim.
    chooser = await sign_in_patient(client, mailbox, "mia@example.org", CHILD_BORN)
    assert "Tim" in chooser.text
    chosen = await client.post("/privacy/choose", data={"_csrf_token": await csrf_token(client),
                                                        "patient_id": str(child)})
    assert chosen.status_code == 303
    me = await client.get("/privacy/me")
    assert "Tim" in me.text and "acting as guardian" in me.text


async def test_a_linked_guardian_carries_only_confirmed_addresses_and_follows_their_record(client, clinic, mailbox):
    father = await factories.make_patient(clinic, confirmed=False, given_name="Bas", email="bas@example.org")
    child = await factories.make_patient(clinic, email="", date_of_birth=CHILD_BORN)
    await guardians.link_guardian(clinic, child, guardians.LinkForm(guardian_patient=str(father)))
    assert (await Guardian.select(Guardian.email, Guardian.phone).first()) == {"email": "", "phone": ""}
    await request_link(client, "bas@example.org", CHILD_BORN)  # unconfirmed: no sign-in link is made
    assert await PatientSignInLink.count() == 0
    await factories.confirm_addresses(clinic, father)
    row = await Guardian.select(Guardian.email, Guardian.phone).first()
    assert row["email"] == "bas@example.org" and row["phone"].startswith("+316")
    await Patient.update({Patient.family_name: "Visser"}).where(Patient.id == father)
    assert (await Guardian.select(Guardian.name).first())["name"] == "Bas Visser"


async def test_another_clinics_patient_is_never_linked_or_added(client, clinic, other_clinic):
    foreign = await factories.make_patient(other_clinic, given_name="Foreign")
    child = await factories.make_patient(clinic, email="", date_of_birth=CHILD_BORN)
    await _desk(client, clinic)
    search = await client.get(f"/patients/{child}/family/options?field=member_patient&q=foreign", headers=HX)
    assert "Foreign" not in search.text
    refused = await post_form(client, f"/patients/{child}/guardians/link",
                              {"guardian_patient": str(foreign), "link_relationship": "aunt"})
    assert refused.status_code == 422 and "No patient with that number in this clinic." in refused.text
    assert 'value="aunt"' in refused.text  # what was typed is kept
    assert await Guardian.count() == 0
    assert (await post_form(client, f"/patients/{child}/family", {"household_name": "Bakker"})).status_code == 303
    added = await post_form(client, f"/patients/{child}/family/members", {"member_patient": str(foreign)})
    assert added.status_code == 422 and "No patient with that number in this clinic." in added.text
    assert await FamilyMember.count() == 1
    # and the database refuses it even if a rule were bypassed
    family_id = (await Family.select(Family.id).first())["id"]
    try:
        await FamilyMember.insert(FamilyMember(clinic=clinic.clinic_id, family=family_id, patient=foreign))
    except Exception as exc:  # noqa: BLE001  (asyncpg's CheckViolationError)
        assert "same clinic" in str(exc) or "family's clinic" in str(exc)
    else:
        raise AssertionError("a foreign patient joined a family")


async def test_a_family_shares_an_address_that_staff_apply_to_members(client, clinic):
    anna = await factories.make_patient(clinic, given_name="Anna", family_name="Jansen", address="Dam 1",
                                        postcode="1012 JS", city="Amsterdam")
    ben = await factories.make_patient(clinic, given_name="Ben", family_name="Jansen", address="Oudegracht 5",
                                       postcode="3511 AB", city="Utrecht")
    await _desk(client, clinic)
    start = await client.get(f"/patients/{anna}/family", headers=HX)
    assert "Start a family" in start.text and 'value="Jansen"' in start.text and 'value="Dam 1"' in start.text
    bad = await post_form(client, f"/patients/{anna}/family", {"household_name": "Jansen", "postcode": "abc"})
    assert bad.status_code == 422 and 'id="e-postcode"' in bad.text and 'value="Jansen"' in bad.text
    assert await Family.count() == 0
    made = await post_form(client, f"/patients/{anna}/family", {"household_name": "Jansen", "address": "Dam 1",
                                                                "postcode": "1012js", "city": "Amsterdam"})
    assert made.status_code == 303
    assert (await post_form(client, f"/patients/{anna}/family/members",
                            {"member_patient": str(ben)})).status_code == 303
    again = await post_form(client, f"/patients/{anna}/family/members", {"member_patient": str(ben)})
    assert again.status_code == 422 and "already belongs to a family" in again.text
    block = await client.get(f"/patients/{ben}/family", headers=HX)
    assert f'href="/patients/{anna}">Anna Jansen</a>' in block.text and "other address" in block.text
    assert await AuditEntry.exists().where((AuditEntry.action == "family.viewed") & (AuditEntry.patient_id == ben))
    shown = await AuditEntry.select(AuditEntry.patient_id).where(AuditEntry.action == "family.members_shown")
    assert {anna} <= {r["patient_id"] for r in shown}  # Anna's name was shown on Ben's page
    applied = await post_form(client, f"/patients/{ben}/family/address")
    assert applied.status_code == 303
    row = await Patient.select(Patient.address, Patient.postcode, Patient.city).where(Patient.id == ben).first()
    assert row == {"address": "Dam 1", "postcode": "1012 JS", "city": "Amsterdam"}
    entries = await AuditEntry.select(AuditEntry.patient_id, AuditEntry.detail).where(
        AuditEntry.action == "family.address_applied").output(load_json=True)
    assert [e["patient_id"] for e in entries] == [ben]  # Anna already lived there
    assert entries[0]["detail"]["changed"] == ["address", "city", "postcode"]
    assert "other address" not in (await client.get(f"/patients/{ben}/family", headers=HX)).text
    # members leave; the family (and its address) goes with the last one
    await Family.update({Family.address: "", Family.postcode: "", Family.city: ""}, force=True)
    blank = await post_form(client, f"/patients/{ben}/family/address")
    assert blank.status_code == 422 and "Give the family an address first." in blank.text
    assert (await Patient.select(Patient.city).where(Patient.id == ben).first())["city"] == "Amsterdam"
    members = {r["patient"]: r["id"] for r in await FamilyMember.select(FamilyMember.patient, FamilyMember.id)}
    assert (await post_form(client, f"/patients/{anna}/family/members/{members[ben]}/remove")).status_code == 303
    assert await Family.count() == 1
    assert (await post_form(client, f"/patients/{anna}/family/members/{members[anna]}/remove")).status_code == 303
    assert await Family.count() == 0 and await FamilyMember.count() == 0


async def test_a_family_is_billed_together_through_the_billing_account(client, clinic):
    parent = await factories.make_patient(clinic, given_name="Eva", family_name="de Vries")
    kid = await factories.make_patient(clinic, given_name="Noor", family_name="de Vries", date_of_birth=CHILD_BORN)
    await households.create_family(clinic, parent, households.FamilyForm(household_name="de Vries"))
    await households.add_member(clinic, parent, households.MemberForm(member_patient=str(kid)))
    await sign_in_as(client, clinic)
    assert (await post_form(client, f"/patients/{kid}/family/billing", {"guarantor": "999"})).status_code == 422
    billed = await post_form(client, f"/patients/{kid}/family/billing", {"guarantor": str(parent)})
    assert billed.status_code == 303, billed.text
    accounts = {r["patient"]: r["account"] for r in await BillingMember.select()}
    assert accounts[kid] == accounts[parent]
    account = await BillingAccount.select().where(BillingAccount.id == accounts[parent]).first()
    assert account["kind"] == "family" and account["guarantor"] == parent
    assert "Billed together" in (await client.get(f"/patients/{kid}/family", headers=HX)).text


async def test_a_member_with_an_unsettled_balance_stays_on_their_account_and_is_named(client, clinic):
    parent = await factories.make_patient(clinic, given_name="Eva", family_name="de Vries")
    kid = await factories.make_patient(clinic, given_name="Noor", family_name="de Vries", date_of_birth=CHILD_BORN)
    await factories.make_invoice(clinic, kid)  # Noor's own account owes money
    await households.create_family(clinic, parent, households.FamilyForm(household_name="de Vries"))
    await households.add_member(clinic, parent, households.MemberForm(member_patient=str(kid)))
    await sign_in_as(client, clinic)
    refused = await post_form(client, f"/patients/{parent}/family/billing", {"guarantor": str(parent)})
    assert refused.status_code == 409 and "Noor de Vries" in refused.text and "Settle" in refused.text
    accounts = {r["patient"]: r["account"] for r in await BillingMember.select()}
    assert accounts[kid] != accounts[parent]


async def test_family_and_guardianship_are_in_the_privacy_registry_and_erased(clinic):
    mother = await factories.make_patient(clinic, given_name="Mia", family_name="Bakker")
    child = await factories.make_patient(clinic, given_name="Tim", family_name="Bakker", date_of_birth=CHILD_BORN)
    await households.create_family(clinic, mother, households.FamilyForm(household_name="Bakker", city="Delft"))
    await guardians.link_guardian(clinic, child, guardians.LinkForm(guardian_patient=str(mother),
                                                                    link_relationship="mother"))
    family = await CATEGORIES["family"].collect(mother)
    assert family[0]["family_name"] == "Bakker" and family[0]["city"] == "Delft"
    assert (await CATEGORIES["guardian_of"].collect(mother))[0]["child"] == "Tim Bakker"
    assert await CATEGORIES["guardian_of"].erase(mother) == 1 and await Guardian.count() == 0
    assert await CATEGORIES["family"].erase(mother) == 1 and await Family.count() == 0


async def test_family_pages_need_the_patient_to_be_of_this_clinic(client, clinic, other_clinic):
    foreign = await factories.make_patient(other_clinic, given_name="Foreign")
    await sign_in_as(client, clinic)
    for url in (f"/patients/{foreign}/family", f"/patients/{foreign}/family/options?q=an"):
        assert (await client.get(url)).status_code == 404
