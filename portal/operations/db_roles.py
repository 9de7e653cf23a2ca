"""Two database roles: the owner, who owns the schema and runs migrations, and the application role that web
processes and workers use, which reads and writes rows but cannot alter tables, disable triggers, truncate,
or lift the append-only rule (only the owner's SECURITY DEFINER `chairside_allow_erasure` can, and it leaves
a record in `erasure_grant`, a table the application role cannot touch).

The embedded server gets both roles at first start (`split_embedded`); for an external server the README's
"Database roles" shows the same statements, and `portal db-roles` applies the grants.
"""

import os
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

OWNER, APP = "chairside_owner", "chairside_app"
# Tables the application role may read but never write.
READ_ONLY = ("migration",)
NO_ACCESS = ("erasure_grant",)


def with_user(url: str, user: str, password: str = "") -> str:
    """`url` with another user name (and password), keeping host, socket, database and options."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    credentials = quote(user, safe="") + (f":{quote(password, safe='')}" if password else ":")
    return urlunsplit((parts.scheme, f"{credentials}@{host}", parts.path, parts.query, parts.fragment))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_roles(conn: asyncpg.Connection, owner: str = OWNER, app: str = APP, login: bool = True) -> None:
    """Create both roles when missing (needs CREATEROLE: the embedded server's superuser, or your DBA)."""
    for role in (owner, app):
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await conn.execute(f"CREATE ROLE {_ident(role)} {'LOGIN' if login else 'NOLOGIN'}")


async def hand_over(conn: asyncpg.Connection, database: str, owner: str = OWNER, app: str = APP) -> None:
    """Make `owner` own the database and every object of the public schema, and give `app` rows only.

    Idempotent; run after each migration (new tables get the same grants through default privileges too).
    `conn` must be a superuser or the current owner of those objects with membership in `owner`.
    """
    o, a = _ident(owner), _ident(app)
    if await conn.fetchval("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", database) != owner:
        await conn.execute(f"ALTER DATABASE {_ident(database)} OWNER TO {o}")
    objects = await conn.fetch(
        "SELECT 'TABLE' AS kind, format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        "AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> $1 "
        "UNION ALL SELECT 'SEQUENCE', format('%I.%I', n.nspname, c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'S' "
        "AND pg_get_userbyid(c.relowner) <> $1 AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
        "AND d.deptype IN ('a', 'i')) "
        "UNION ALL SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prokind = 'f' "
        "AND pg_get_userbyid(p.proowner) <> $1 "
        "UNION ALL SELECT 'TYPE', format('%I.%I', n.nspname, t.typname) FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') "
        "AND pg_get_userbyid(t.typowner) <> $1", owner)
    for row in objects:
        await conn.execute(f"ALTER {row['kind']} {row['name']} OWNER TO {o}")
    await conn.execute(f"""
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        GRANT USAGE, CREATE ON SCHEMA public TO {o};
        GRANT USAGE ON SCHEMA public TO {a};
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a};
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {a};
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {a};
        ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public
            GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a};
        ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {a};
    """)
    for table in READ_ONLY:
        await conn.execute(_revoke(table, a, "INSERT, UPDATE, DELETE"))
    for table in NO_ACCESS:
        await conn.execute(_revoke(table, a, "ALL"))


def _revoke(table: str, role: str, privileges: str) -> str:
    """REVOKE for a table that may not exist yet (an older schema)."""
    return (f"DO $do$ BEGIN IF to_regclass('public.{table}') IS NOT NULL THEN "
            f"REVOKE {privileges} ON TABLE public.{_ident(table)} FROM {role}; END IF; END $do$")


def split_embedded(server_url: str, database: str) -> tuple[str, str]:
    """At each start of the embedded server: both roles exist, the owner owns everything, and the URLs for
    migrations (owner) and for everything else (application role) are returned."""
    import asyncio

    async def run() -> None:
        conn = await asyncpg.connect(server_url.replace("/postgres?", f"/{database}?", 1))
        try:
            await create_roles(conn)
            await hand_over(conn, database)
        finally:
            await conn.close()

    asyncio.run(run())
    from portal.db import with_database

    url = with_database(server_url, database)
    return with_user(url, OWNER), with_user(url, APP)


def owner_url() -> str | None:
    """Where migrations connect, when it differs from DATABASE_URL (MIGRATION_DATABASE_URL)."""
    return os.environ.get("MIGRATION_DATABASE_URL") or None


@asynccontextmanager
async def as_owner(engine):
    """Run migrations as the owner role (when MIGRATION_DATABASE_URL is set), then grant the application role
    (DATABASE_URL's user) its rows in whatever the migrations created."""
    url = owner_url()
    if url is None:
        yield
        return
    saved = dict(engine.config)
    engine.config["dsn"] = url
    try:
        yield
    finally:
        engine.config.clear()
        engine.config.update(saved)
    app = urlsplit(os.environ["DATABASE_URL"]).username
    owner = urlsplit(url).username
    if app and owner and app != owner:
        conn = await asyncpg.connect(url)
        try:
            await hand_over(conn, urlsplit(url).path.lstrip("/"), owner=owner, app=app)
        finally:
            await conn.close()
