"""The floor every signed-in page pays: the session, the staff member and their clinic come in one statement."""

from piccolo.engine.postgres import PostgresEngine

from portal.tables import Staff
from tests.factories import sign_in_as


async def test_a_signed_in_page_reads_session_and_staff_in_one_statement(client, clinic, monkeypatch):
    await sign_in_as(client, clinic)
    statements: list[str] = []
    original = PostgresEngine.run_querystring

    async def counted(self, querystring, in_pool=True):
        statements.append(str(querystring))
        return await original(self, querystring, in_pool)

    monkeypatch.setattr(PostgresEngine, "run_querystring", counted)
    response = await client.get("/account/calendar-feed")
    assert response.status_code == 200
    session_reads = [s for s in statements if "web_session" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(session_reads) == 1 and "JOIN staff" in session_reads[0]
    assert not [s for s in statements if '"staff"."role"' in s], statements  # the guard's own query is gone


async def test_a_deactivated_member_is_signed_out_at_the_next_request(client, clinic):
    await sign_in_as(client, clinic)
    await Staff.update({Staff.active: False}).where(Staff.clinic == clinic.id)
    response = await client.get("/account/calendar-feed")
    assert response.status_code in {302, 303, 401} or "/login" in str(response.url)
