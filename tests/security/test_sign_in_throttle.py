"""Sign-in locks out attackers, not staff; a password-reset request does the same work for every address."""

import re

from portal.tables import AuditEntry, LoginAttempt, OutboxMessage, StaffToken
from tests import factories
from tests.factories import PASSWORD, email_of, sign_in


async def _jobs() -> list[dict]:
    return await LoginAttempt.raw("SELECT task_name, args FROM procrastinate_jobs ORDER BY id")


MASKED_TOKEN = re.compile(r"[0-9a-f]{256,}")


async def test_a_reset_request_takes_the_same_path_for_known_and_unknown_addresses(client, clinic):
    known_email = await email_of(clinic)
    token = await factories.csrf_token(client)
    answers = []
    for email in (known_email, "nobody@example.org"):
        audit_before, jobs_before = await AuditEntry.count(), len(await _jobs())
        response = await client.post("/password/forgot", data={"_csrf_token": token, "email": email})
        # The same page apart from the CSRF token, which is masked afresh in every response (portal/views/csrf.py).
        answers.append((response.status_code, MASKED_TOKEN.sub("TOKEN", response.text)))
        # The request itself only queues one job; the lookup, the token and the mail are the worker's.
        jobs = await _jobs()
        assert len(jobs) == jobs_before + 1 and jobs[-1]["task_name"] == "staff.password_reset"
        assert await AuditEntry.count() == audit_before
        assert await StaffToken.count() == 0 and await OutboxMessage.count() == 0
    assert answers[0] == answers[1]
    await factories.run_queued_jobs("default")
    assert await StaffToken.count() == 1 and await OutboxMessage.count() == 1


async def test_guesses_from_many_addresses_never_block_the_right_password_from_a_known_device(
        client, other_client, clinic):
    """The staff member signed in here once; then an attacker spreads 200 guesses over 100 addresses."""
    owner = await email_of(clinic)
    assert (await sign_in(client, owner, PASSWORD)).status_code == 303
    await client.post("/logout", headers={"X-CSRFToken": await factories.csrf_token(client)})
    await LoginAttempt.insert(*[LoginAttempt(email=owner, ip=f"203.0.113.{i % 100}", succeeded=False)
                                for i in range(200)])
    assert (await sign_in(other_client, owner, PASSWORD)).status_code == 429  # an unknown device waits
    assert (await sign_in(client, owner, PASSWORD)).status_code == 303
    rows = await AuditEntry.raw("SELECT count(*) AS n FROM audit_entry WHERE action = 'auth.signed_in' "
                                "AND (detail::jsonb ->> 'known_device') = 'true'")
    assert rows[0]["n"] == 1
