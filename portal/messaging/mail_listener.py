"""The self-hosted way in for routed email: an SMTP listener (aiosmtpd) that each worker runs on INBOUND_SMTP, taking
mail only for the addresses we gave out (a clinic's inbound address, a conversation's reply address) and handing it
to the same inbound path as the provider's webhook (mail_routing.read_message, then mail_routing.receive).

Not an open relay: a recipient that is not ours (another domain, an unknown or forged reply address) is refused at
RCPT TO with 550, so nothing for it is ever read. A message over MAX_BYTES is refused by SIZE (announced in EHLO)
and at DATA with 552; more than MAX_RECIPIENTS recipients with 452. A mail that is not of a shape we read is refused
with 550 and nothing is kept; a failure on our side answers 451 so that the sending server tries again later.
SMTP carries no provider signature: run the listener behind the MTA that checks SPF, DKIM and DMARC, as the
provider's route would have. A reply from an address that is not on the patient's record is marked as such.
"""

import asyncio
import logging
from functools import partial

from aiosmtpd.smtp import SMTP, Envelope, Session

from portal.messaging import mail_routing, reply_addresses
from portal.request_limits import INBOUND_MAIL
from portal.settings import Settings

log = logging.getLogger(__name__)
MAX_BYTES = INBOUND_MAIL.body_bytes  # the webhook's limit: the same mail is no bigger by another way in
MAX_RECIPIENTS = 10


class RoutedMailHandler:
    """aiosmtpd's handler hooks: accept our routed addresses only, then one inbound path per recipient."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if reply_addresses.route(self.settings, address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > MAX_BYTES:
            return "552 5.3.4 Message too big"
        sender = envelope.mail_from or ""
        try:
            for recipient in envelope.rcpt_tos:
                mail = mail_routing.read_message(recipient, sender, raw)
                await mail_routing.receive(self.settings, mail)
        except mail_routing.MalformedMail as exc:
            log.info("smtp listener: refused a malformed mail (%s)", exc)
            return "550 5.6.0 Message not readable"
        except Exception:
            log.exception("smtp listener: could not keep a mail; the sender will retry")
            return "451 4.3.0 Try again later"
        return "250 OK"


def address(settings: Settings) -> tuple[str, int] | None:
    """(host, port) from INBOUND_SMTP ("0.0.0.0:2525", "[::]:25" or a bare port), or None when off."""
    value = settings.inbound_smtp.strip()
    if not value:
        return None
    host, _, port = value.rpartition(":")
    return (host.strip("[]") or "127.0.0.1"), int(port)


async def start(settings: Settings, port: int | None = None) -> asyncio.AbstractServer | None:
    """Listen on INBOUND_SMTP (or `port` on loopback, for tests) in the running loop; None when off or when the
    port is taken (another worker on this machine already listens: the mail reaches it)."""
    where = ("127.0.0.1", port) if port is not None else address(settings)
    if where is None or not reply_addresses.enabled(settings):
        return None
    factory = partial(SMTP, RoutedMailHandler(settings), data_size_limit=MAX_BYTES, enable_SMTPUTF8=True,
                      decode_data=False, hostname=settings.inbound_mail_domain or None, ident="Chairside")
    try:
        server = await asyncio.get_running_loop().create_server(factory, *where)
    except OSError as exc:
        log.info("smtp listener not started on %s:%s (%s)", *where, exc)
        return None
    log.info("smtp listener takes routed mail on %s:%s", *where)
    return server
