"""The `portal` command, run as a person would run it, against the test database."""

import os
import subprocess
import sys

from portal.tables import Clinic, Patient, Staff
from tests.conftest import ROOT


def portal(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


async def test_create_owner_makes_the_first_clinic_and_owner():
    result = portal("create-owner", "--clinic", "Tandarts Zuid", "--name", "Ilse Owner", "--email",
                    "Ilse@Zuid.test", "--country", "NL", "--time-zone", "Europe/Amsterdam",
                    OWNER_PASSWORD="a sufficiently long password")
    assert result.returncode == 0, result.stderr
    assert "Created clinic 'Tandarts Zuid'" in result.stdout
    owner = await Staff.select(Staff.email, Staff.role, Staff.password_hash).first()
    assert owner["email"] == "ilse@zuid.test" and owner["role"] == "owner"
    assert owner["password_hash"].startswith("$argon2id$")


async def test_create_owner_refuses_bad_input_with_messages():
    result = portal("create-owner", "--clinic", "X", "--name", "Y", "--email", "bad", "--time-zone", "Mars/Base",
                    OWNER_PASSWORD="short")
    assert result.returncode == 2
    assert "owner_email: Enter an email address" in result.stderr and "time_zone:" in result.stderr
    assert await Clinic.count() == 0


async def test_demo_loads_once_and_lists_the_accounts():
    first = portal("demo")
    second = portal("demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    for email in ("owner@demo.chairside.test", "dentist@demo.chairside.test", "hygienist@demo.chairside.test",
                  "reception@demo.chairside.test", "patient@demo.chairside.test"):
        assert email in second.stdout
    assert await Clinic.count() == 1 and await Staff.count() == 4
    assert await Patient.count() >= 30
    assert await Patient.exists().where(Patient.email == "patient@demo.chairside.test")


async def test_dbshell_opens_psql_on_the_configured_database():
    result = subprocess.run([sys.executable, "-m", "portal.cli", "dbshell"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, input="SELECT current_database();\n",
                            env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert "chairside_test" in result.stdout
