"""The owner manages staff; other roles may not."""

import pytest

from portal.permissions import ROLE_PERMISSIONS, Permission, Role
from portal.tables import AuditEntry, Staff
from tests import factories
from tests.factories import post_form, sign_in, sign_in_as


async def test_owner_adds_a_receptionist_who_can_then_sign_in(client, other_client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/staff", {"name": "Rita Reception", "email": "Rita@Canal.test",
                                                  "role": "receptionist", "password": "long enough password",
                                                  "registration_body": "", "registration_number": "",
                                                  "active": "on"})
    assert response.status_code == 303
    assert "Rita Reception" in (await client.get("/staff")).text
    assert (await sign_in(other_client, "rita@canal.test", "long enough password")).status_code == 303
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.created")


async def test_bad_staff_form_is_shown_again_with_messages_and_saves_nothing(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/staff", {"name": "", "email": "not-an-email", "role": "janitor",
                                                  "password": "short"})
    assert response.status_code == 422
    for message in ("Name is required.", "Enter an email address like", "Choose a role.",
                    "Use at least 12 characters."):
        assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert await Staff.count() == 1


async def test_two_accounts_cannot_share_an_email(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/staff", {"name": "Copy", "email": "owner@canal-dental.test",
                                                  "role": "dentist", "password": "long enough password"})
    assert response.status_code == 422
    assert "Another staff account already uses this email." in response.text


async def test_owner_cannot_demote_or_deactivate_themselves(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, f"/staff/{clinic.id}", {"name": "Me", "email": "owner@canal-dental.test",
                                                               "role": "dentist", "active": "on"})
    assert response.status_code == 422
    assert (await Staff.select(Staff.role).where(Staff.id == clinic.id).first())["role"] == "owner"


async def test_role_change_takes_effect_at_once(client, other_client, clinic):
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    await sign_in_as(other_client, dentist)
    await sign_in_as(client, clinic)
    await post_form(client, f"/staff/{dentist.id}", {"name": "Demoted", "email": await factories.email_of(dentist),
                                                     "role": "receptionist", "active": "on"})
    assert (await other_client.get("/")).status_code == 303  # old session ended
    await sign_in_as(other_client, dentist)
    assert (await Staff.select(Staff.role).where(Staff.id == dentist.id).first())["role"] == "receptionist"


@pytest.mark.parametrize("role", [Role.DENTIST, Role.HYGIENIST, Role.RECEPTIONIST])
async def test_only_the_owner_opens_staff_management(client, clinic, role):
    member = await factories.make_staff(clinic, role)
    await sign_in_as(client, member)
    response = await client.get("/staff")
    assert response.status_code == 403
    assert "You cannot open this page" in response.text
    assert 'href="/staff"' not in (await client.get("/")).text


def test_receptionist_never_reads_clinical_notes_or_images():
    granted = ROLE_PERMISSIONS[Role.RECEPTIONIST]
    assert Permission.READ_CLINICAL not in granted and Permission.READ_IMAGES not in granted
    assert {Permission.MANAGE_CALENDAR, Permission.EDIT_DEMOGRAPHICS} <= granted


async def test_reading_staff_records_is_audited(client, clinic):
    await sign_in_as(client, clinic)
    await client.get("/staff")
    await client.get(f"/staff/{clinic.id}")
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.listed")
    assert await AuditEntry.exists().where(AuditEntry.action == "staff.viewed")
