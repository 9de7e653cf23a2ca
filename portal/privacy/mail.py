"""Privacy mail goes through the transactional outbox; `send_now` delivers it until the jobs worker does."""

import asyncio
import logging

from portal.messaging import outbox
from portal.settings import Settings

log = logging.getLogger(__name__)
_background: set[asyncio.Task] = set()


async def send_now(settings: Settings) -> None:
    """Deliver what the committed transaction queued (the jobs worker replaces this call)."""
    try:
        await outbox.deliver_due(settings)
    except Exception:  # the rows stay queued; the next delivery retries them
        log.exception("privacy mail: delivery failed, left in the outbox")


def send_soon(settings: Settings) -> None:
    """Deliver in the background, so a response takes the same time whether or not it queued mail."""
    task = asyncio.get_running_loop().create_task(send_now(settings))
    _background.add(task)
    task.add_done_callback(_background.discard)
