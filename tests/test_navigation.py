"""The staff navigation bar: each person sees the sections their role opens, the current one marked, in their
language (drawn once per language, permission set and section: portal/views/navigation.py)."""

import re

from portal.permissions import Role
from tests import factories
from tests.factories import csrf_token, sign_in_as


def _sections(page: str) -> list[tuple[str, bool]]:
    nav = page.split('<ul class="main-nav">', 1)[1].split('<details class="dropdown">', 1)[0]
    return [(label, bool(current)) for current, label in
            re.findall(r'<li><a href="[^"]+" (aria-current="page")?>([^<]+)</a></li>', nav)]


async def test_each_role_sees_its_sections_with_the_current_one_marked(client, clinic):
    await sign_in_as(client, clinic)
    owner = _sections((await client.get("/calendar")).text)
    assert [label for label, _ in owner] == ["Today", "Calendar", "Lab work", "Recall", "Patients", "Staff",
                                            "Set-up", "Privacy", "Reports", "Audit"]
    assert [label for label, current in owner if current] == ["Calendar"]
    assert [label for label, current in _sections((await client.get("/")).text) if current] == ["Today"]
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    desk = _sections((await client.get("/patients")).text)
    assert "Audit" not in [label for label, _ in desk] and "Staff" not in [label for label, _ in desk]
    assert [label for label, current in desk if current] == ["Patients"]
    await client.post("/account/language", data={"_csrf_token": await csrf_token(client), "language": "nl",
                                                 "next": "/patients"})
    dutch = _sections((await client.get("/patients")).text)
    assert ("Patiënten", True) in dutch and len(dutch) == len(desk)
