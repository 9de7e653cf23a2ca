"""The demo clinic: four staff accounts and a few dozen patients, loaded once (idempotent)."""

import random
from datetime import date, datetime, timedelta, timezone

from portal import audit, auth, clinics
from portal.db import transaction
from portal.permissions import Role
from portal.tables import Patient, Staff

DOMAIN = "demo.chairside.test"
PASSWORD = "chairside-demo"
ACCOUNTS = [("owner", "Olivia Owner", Role.OWNER, "", ""),
            ("dentist", "Dr. Daan Dekker", Role.DENTIST, "BIG-register", "19054321001"),
            ("hygienist", "Hanna Hendriks", Role.HYGIENIST, "Kwaliteitsregister Paramedici", "KP-33817"),
            ("reception", "Ruben Reyes", Role.RECEPTIONIST, "", "")]
GIVEN = ["Emma", "Liam", "Sophie", "Noah", "Julia", "Lucas", "Mila", "Daan", "Tess", "Sem", "Saar", "Finn",
         "Nora", "Levi", "Yara", "Milan", "Lotte", "Jesse", "Evi", "Thomas", "Anna", "Bram", "Zoë", "Mohammed"]
FAMILY = ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder",
          "de Boer", "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "El Amrani", "Yilmaz"]


async def load_demo() -> list[tuple[str, str]]:
    """Create the demo clinic unless it exists; return the (email, role) of every demo account."""
    owner_email = f"owner@{DOMAIN}"
    if not await Staff.exists().where(Staff.email == owner_email):
        owner = await clinics.create_clinic_with_owner(
            clinics.NewClinic(name="Demo Dental Amsterdam", country="NL", time_zone="Europe/Amsterdam",
                              contact_email=f"desk@{DOMAIN}", privacy_email=f"privacy@{DOMAIN}",
                              address="Prinsengracht 100, 1015 EA Amsterdam"),
            clinics.NewOwner(name=ACCOUNTS[0][1], email=owner_email, password=PASSWORD))
        await _fill(owner)
    return [(f"{local}@{DOMAIN}", role.value) for local, _, role, _, _ in ACCOUNTS]


async def _fill(owner) -> None:
    rng = random.Random(20261124)
    now = datetime.now(timezone.utc)
    password_hash = auth.hash_password(PASSWORD)
    async with transaction():
        for local, name, role, body, number in ACCOUNTS[1:]:
            await Staff.insert(Staff(clinic=owner.clinic_id, name=name, email=f"{local}@{DOMAIN}",
                                     password_hash=password_hash, role=role.value, registration_body=body,
                                     registration_number=number, active=True, created_at=now))
        rows = [_patient(owner.clinic_id, "Pat", "Demo", date(1988, 5, 17), f"patient@{DOMAIN}", "+31612345678",
                         now - timedelta(days=150))]
        for i in range(40):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            born = date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
            mobile = f"+316{rng.randint(10_000_000, 99_999_999)}"
            email = f"{given.lower()}.{family.lower().replace(' ', '')}{i}@example.org"
            rows.append(_patient(owner.clinic_id, given, family, born, email, mobile,
                                 now - timedelta(days=rng.randint(0, 180))))
        await Patient.insert(*rows)
        await audit.record(owner, "demo.loaded", detail={"patients": len(rows)})


def _patient(clinic_id, given, family, born, email, mobile, created) -> Patient:
    return Patient(clinic=clinic_id, given_name=given, family_name=family, date_of_birth=born, email=email,
                   phone_mobile=mobile, national_id="", preferred_language="nl", created_at=created,
                   updated_at=created)
