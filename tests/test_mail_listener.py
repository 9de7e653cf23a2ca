"""The worker's SMTP listener for self-hosted routed email, tested with aiosmtplib sending to it over real SMTP:
a reply to a conversation's address threads in (attachments judged by content) exactly as through the provider's
webhook, an unknown sender to the clinic's address becomes a lead, addresses we never gave out are refused at
RCPT TO (no open relay), oversized and unreadable mail is refused with nothing kept, and a resent mail folds."""

from dataclasses import replace
from email.message import EmailMessage

import aiosmtplib
import pytest

from portal.messaging import mail_listener, reply_addresses
from portal.tables import AuditEntry, ConversationAttachment, ConversationMessage, Lead
from tests import factories
from tests.mail_sink import free_port

DOMAIN = "reply.testserver.example"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF"
PROGRAM = b"MZ\x90\x00 this is a program, not a letter"


@pytest.fixture
def self_hosted(settings):
    """Routed email without a provider: a domain and our own listener, no webhook signing key."""
    return replace(settings, inbound_mail_domain=DOMAIN, mail_webhook_signing_key="", inbound_smtp="127.0.0.1:0")


@pytest.fixture
async def listener(self_hosted):
    port = free_port()
    server = await mail_listener.start(self_hosted, port=port)
    assert server is not None
    yield port
    server.close()
    await server.wait_closed()


def _mail(to: str, sender: str = "anna@example.org", message_id: str = "<smtp-1@example.org>",
          attachments: tuple = ()) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = f"Anna <{sender}>", to, "Re: Your visit"
    message["Message-ID"] = message_id
    message.set_content("Thanks, see you then!")
    for name, data, kind in attachments:
        message.add_attachment(data, maintype=kind.split("/")[0], subtype=kind.split("/")[1], filename=name)
    return message


async def test_a_reply_over_smtp_threads_into_the_conversation(listener, self_hosted, clinic):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    to = reply_addresses.reply_address(self_hosted, clinic.clinic_id, patient_id)
    await aiosmtplib.send(_mail(to, attachments=(("letter.pdf", PDF, "application/pdf"),
                                                 ("scan.pdf", PROGRAM, "application/pdf"))),
                          hostname="127.0.0.1", port=listener)
    [message] = await ConversationMessage.select().where(ConversationMessage.patient == patient_id)
    assert (message["channel"], message["direction"], message["subject"]) == ("email", "in", "Re: Your visit")
    assert message["body"].strip() == "Thanks, see you then!" and message["outcome"] == ""
    kept = {a["filename"]: a["refused_reason"] for a in await ConversationAttachment.select()}
    assert kept == {"letter.pdf": "", "scan.pdf": "type"}  # judged by the bytes, as through the webhook
    assert await AuditEntry.exists().where((AuditEntry.action == "email.received")
                                           & (AuditEntry.patient_id == patient_id))
    # The sending server retries after a lost answer: the same Message-ID is kept once.
    await aiosmtplib.send(_mail(to), hostname="127.0.0.1", port=listener)
    assert await ConversationMessage.count() == 1


async def test_an_unknown_sender_to_the_clinic_address_becomes_a_lead(listener, self_hosted, clinic):
    to = reply_addresses.clinic_address(self_hosted, clinic.clinic_id)
    await aiosmtplib.send(_mail(to, sender="new@example.org"), hostname="127.0.0.1", port=listener)
    [lead] = await Lead.select().where(Lead.clinic == clinic.clinic_id)
    assert lead["email"] == "new@example.org" and lead["name"] == "Anna"
    assert await ConversationMessage.count() == 1


@pytest.mark.parametrize("to", ["someone@elsewhere.example", f"reply-1-2-0000000000000000@{DOMAIN}",
                                f"postmaster@{DOMAIN}"])
async def test_addresses_we_never_gave_out_are_refused_at_rcpt(listener, clinic, to):
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(_mail(to), hostname="127.0.0.1", port=listener)
    assert refused.value.recipients[0].code == 550
    assert await ConversationMessage.count() == 0 and await Lead.count() == 0


async def test_oversized_and_unreadable_mail_is_refused_and_nothing_kept(listener, self_hosted, clinic, monkeypatch):
    to = reply_addresses.clinic_address(self_hosted, clinic.clinic_id)
    monkeypatch.setattr(mail_listener, "MAX_BYTES", 2000)  # the handler's own check (SIZE is announced too)
    big = _mail(to, attachments=(("big.pdf", PDF + b"0" * 5000, "application/pdf"),))
    with pytest.raises(aiosmtplib.SMTPDataError) as too_big:
        await aiosmtplib.send(big, hostname="127.0.0.1", port=listener)
    assert too_big.value.code == 552
    monkeypatch.undo()
    no_id = _mail(to)
    del no_id["Message-ID"]
    with pytest.raises(aiosmtplib.SMTPDataError) as unreadable:
        await aiosmtplib.send(no_id, hostname="127.0.0.1", port=listener)
    assert unreadable.value.code == 550
    assert await ConversationMessage.count() == 0 and await Lead.count() == 0


async def test_the_listener_is_off_until_configured(settings):
    assert await mail_listener.start(settings) is None
    assert mail_listener.address(replace(settings, inbound_smtp="0.0.0.0:2525")) == ("0.0.0.0", 2525)
    assert mail_listener.address(replace(settings, inbound_smtp="[::]:25")) == ("::", 25)
