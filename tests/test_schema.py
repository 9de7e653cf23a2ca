"""The migrations build what the Piccolo tables describe, on core PostgreSQL only."""

from portal.tables import ALL_TABLES, Patient


async def test_every_table_column_exists_in_the_database():
    rows = await Patient.raw("SELECT table_name, column_name FROM information_schema.columns "
                             "WHERE table_schema = 'public'")
    present = {(r["table_name"], r["column_name"]) for r in rows}
    for table in ALL_TABLES:
        for column in table._meta.columns:
            assert (table._meta.tablename, column._meta.db_column_name) in present


async def test_schema_uses_no_extension():
    rows = await Patient.raw("SELECT extname FROM pg_extension")
    assert {r["extname"] for r in rows} == {"plpgsql"}
