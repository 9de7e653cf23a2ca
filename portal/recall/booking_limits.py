"""Rate limits on the public booking steps, per address (or link) and per client, counted like sign-in attempts.

Every try counts, whether it succeeds or not (they all look alike from outside): a code request per address typed
and per client address, a code typed per client, and each step behind a signed link (hold, confirm, cancel, move,
an offer's answer) per link and per client. The counts live in `login_attempt` under keys of their own, queued
behind advisory locks so parallel tries cannot all pass on the same count (as portal/auth.py does for sign-in);
`Throttled` carries the minutes to wait, which the refusal page shows.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit
from portal.db import transaction
from portal.errors import Throttled
from portal.settings import Settings
from portal.tables import LoginAttempt


@dataclass(frozen=True)
class Step:
    name: str
    per_address: int  # times the sign-in account limit
    per_client: int  # times the sign-in client limit


CODE_REQUEST = Step("code", 1, 1)
CODE_ENTRY = Step("code-entry", 2, 1)
LINK_STEP = Step("link", 6, 3)


def _limits(step: Step, settings: Settings) -> tuple[int, int]:
    return step.per_address * settings.login_account_limit, step.per_client * settings.login_ip_limit


async def _wait(column, key: str, limit: int, window: timedelta, now: datetime) -> int:
    rows = await LoginAttempt.select(LoginAttempt.at).where((column == key) & (LoginAttempt.at > now - window)
                                                            ).order_by(LoginAttempt.at, ascending=False).limit(limit)
    if len(rows) < limit:
        return 0
    return max(math.ceil((rows[-1]["at"] + window - now).total_seconds() / 60), 1)


async def count(step: Step, settings: Settings, client: str, address: str, clinic_id: int | None = None) -> None:
    """Record this try of `step`; raise Throttled (nothing recorded) when the address or the client is over its limit.

    `address` is what the try is about: the email or number typed, or the link's subject."""
    address_key = f"booking-{step.name}:{address.strip()}"[:320]
    client_key = f"booking-{step.name}:{client}"[:64]
    per_address, per_client = _limits(step, settings)
    window = timedelta(minutes=settings.login_window_minutes)
    now = datetime.now(timezone.utc)
    async with transaction():
        await LoginAttempt.raw("SELECT pg_advisory_xact_lock(hashtext({})), pg_advisory_xact_lock(hashtext({}))",
                               address_key, "ip:" + client_key)
        wait = max(await _wait(LoginAttempt.email, address_key, per_address, window, now),
                   await _wait(LoginAttempt.ip, client_key, per_client, window, now))
        if wait:
            await audit.record(None, "booking.throttled", clinic_id=clinic_id, object_type="booking_step",
                               detail={"step": step.name, "ip": client})
        else:
            await LoginAttempt.insert(LoginAttempt(email=address_key, ip=client_key, succeeded=False, at=now))
    if wait:
        raise Throttled(wait)
