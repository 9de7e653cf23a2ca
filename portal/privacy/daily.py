"""The privacy centre's daily housekeeping: one plain async function for the jobs worker to schedule."""

from datetime import date, datetime, timezone

from portal.privacy import export, retention
from portal.tables import PatientSession, PatientSignInLink


async def run_daily(today: date | None = None) -> dict[str, int]:
    """Erase what retention makes due, drop expired downloads, used or expired sign-in links and sessions."""
    now = datetime.now(timezone.utc)
    erased = await retention.run_retention(today)
    links = await PatientSignInLink.delete().where(PatientSignInLink.expires_at < now).returning(PatientSignInLink.id)
    sessions = await PatientSession.delete().where(PatientSession.expires_at < now).returning(PatientSession.id)
    return {**erased, "exports_purged": await export.purge_expired(), "links_purged": len(links),
            "sessions_purged": len(sessions)}
