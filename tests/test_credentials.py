"""Providers' credentials per clinic: encrypted at rest (the database never holds a token in clear), read back
only by the clinic that saved them, audited by field name only, deleted at once on disconnection."""

from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from portal.errors import Forbidden
from portal.messaging import credentials
from portal.permissions import Role
from portal.tables import AuditEntry, ClinicCredential
from tests import factories

TOKEN = "EAAG-very-secret-page-token-123"


async def test_saved_credentials_are_ciphertext_in_the_database_and_plain_only_to_their_clinic(
        settings, clinic, other_clinic):
    await credentials.save(clinic, settings, "meta", {"page_token": TOKEN, "page_id": "1234", "empty": "  "})
    [row] = await ClinicCredential.raw("SELECT * FROM clinic_credential")
    assert TOKEN not in str(row) and row["names"] == "page_id,page_token"
    assert await credentials.load(settings, clinic.clinic_id, "meta") == {"page_token": TOKEN, "page_id": "1234"}
    assert await credentials.load(settings, other_clinic.clinic_id, "meta") is None
    overview = await credentials.overview(clinic)
    assert overview["meta"]["fields"] == ["page_id", "page_token"] and TOKEN not in str(overview)
    audit_rows = await AuditEntry.raw("SELECT * FROM audit_entry WHERE action = 'credentials.saved'")
    assert audit_rows and TOKEN not in str(audit_rows)


async def test_another_key_cannot_read_them_and_says_so(settings, clinic):
    await credentials.save(clinic, settings, "voice", {"auth_token": TOKEN})
    other = replace(settings, credentials_key=Fernet.generate_key().decode())
    with pytest.raises(credentials.CredentialsUnreadable):
        await credentials.load(other, clinic.clinic_id, "voice")


async def test_forgetting_deletes_at_once_and_only_owners_may_touch_them(settings, clinic):
    await credentials.save(clinic, settings, "meta", {"page_token": TOKEN})
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await credentials.save(receptionist, settings, "meta", {"page_token": "x"})
    assert await credentials.forget(clinic, "meta") is True
    assert await ClinicCredential.count() == 0
    assert await credentials.load(settings, clinic.clinic_id, "meta") is None
