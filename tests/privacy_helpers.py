"""Signing in to the privacy centre the way a patient does: the link is read from the real SMTP server."""

import re

import httpx

from tests.factories import csrf_token, post_form, run_queued_jobs
from tests.mail_sink import MailSink, body_text

LINK = re.compile(r"https?://\S+/privacy/link/\S+")


APPOINTMENT_MAIL = ("appointment:", "reminder:")  # idempotency-key prefixes of the calendar's own mail


def privacy_mail(mailbox: MailSink, address: str) -> list:
    """What the privacy centre sent to `address` (booking confirmations of test visits left out)."""
    return [m for m in mailbox.to(address) if not str(m["X-Chairside-Key"] or "").startswith(APPOINTMENT_MAIL)]


async def wait_for_mail(mailbox: MailSink, address: str, count: int = 1) -> list:
    """Mail leaves only through the worker: run procrastinate's worker over what the outbox trigger queued,
    then `count` messages must have arrived at the SMTP server (no sleeping, no polling)."""
    await run_queued_jobs()
    messages = privacy_mail(mailbox, address)
    assert len(messages) >= count, f"expected {count} message(s) to {address}, got {len(messages)}"
    return messages


async def request_link(client: httpx.AsyncClient, email: str, born: str) -> httpx.Response:
    return await post_form(client, "/privacy", {"email": email, "date_of_birth": born})


def link_path(message) -> str:
    url = LINK.search(body_text(message)).group(0)
    return "/privacy/link/" + url.split("/privacy/link/", 1)[1]


async def sign_in_patient(client: httpx.AsyncClient, mailbox: MailSink, email: str, born: str,
                          count: int = 1) -> httpx.Response:
    """Request the link, use it, and land on the chooser or the patient's page."""
    response = await request_link(client, email, born)
    assert response.status_code == 200, response.text
    # the newest mail carrying a sign-in link (other mail of the clinic may arrive in between)
    message = [m for m in await wait_for_mail(mailbox, email, count) if LINK.search(body_text(m))][-1]
    path = link_path(message)
    assert (await client.get(path)).status_code == 200
    used = await client.post(path, data={"_csrf_token": await csrf_token(client)})
    assert used.status_code == 303, used.text
    return await client.get(used.headers["location"])
