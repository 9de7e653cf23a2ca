"""The outbox: stored with the change, sent once over real SMTP, retried with backoff, dead after the last try."""

from portal import db
from portal.messaging import outbox
from portal.tables import OutboxMessage
from tests.mail_sink import body_text, free_port

MAIL = outbox.Email(to="anna@example.org", subject="Your appointment", text="See you on Monday.",
                    html="<p>See you on Monday.</p>",
                    attachments=(outbox.Attachment("visit.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n"),))


async def test_a_message_is_sent_once_with_its_parts(settings, mailbox):
    assert await outbox.enqueue(MAIL, key="appt:1:confirm")
    assert not await outbox.enqueue(MAIL, key="appt:1:confirm")  # the same key again stores nothing
    assert await outbox.deliver_due(settings) == 1
    assert await outbox.deliver_due(settings) == 0
    [message] = mailbox.to("anna@example.org")
    assert message["Subject"] == "Your appointment"
    assert "See you on Monday." in body_text(message)
    assert [p.get_filename() for p in message.iter_attachments()] == ["visit.ics"]
    row = await OutboxMessage.select().first()
    assert row["status"] == "sent" and row["sent_at"] is not None


async def test_a_rolled_back_change_sends_nothing(settings, mailbox):
    try:
        async with db.transaction():
            await outbox.enqueue(MAIL, key="rolled-back")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert await outbox.deliver_due(settings) == 0
    assert await OutboxMessage.count() == 0


async def test_an_unreachable_server_retries_with_backoff_then_dead_letters(settings, mailbox):
    from dataclasses import replace

    down = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    await outbox.enqueue(MAIL, key="k1", clinic_id=7)
    assert await outbox.deliver_due(down) == 0
    row = await OutboxMessage.select().first()
    assert row["status"] == "queued" and row["attempts"] == 1 and row["last_error"].startswith("connect")
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        await OutboxMessage.update({OutboxMessage.next_attempt_at: row["created_at"]}, force=True)
        await outbox.deliver_due(down)
    row = await OutboxMessage.select().first()
    assert row["status"] == "dead"
    assert await outbox.resend(row["id"], clinic_id=8) is False  # another clinic cannot touch it
    assert await outbox.resend(row["id"], clinic_id=7) is True
    assert await outbox.deliver_due(settings) == 1
    assert len(mailbox.to("anna@example.org")) == 1


def test_backoff_is_minutes_not_hours():
    assert [outbox.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 6, 50)] == [1, 2, 5, 10, 15, 15, 15]


async def test_a_large_attachment_keeps_smtp_line_lengths(settings, mailbox):
    data = bytes(range(256)) * 40  # 10 kB: one base64 line would break SMTP's 1,000-character limit
    mail = outbox.Email(to="big@example.org", subject="Big", text="See attached.",
                        attachments=(outbox.Attachment("scan.bin", "application/octet-stream", data),))
    await outbox.enqueue(mail, key="big")
    assert await outbox.deliver_due(settings) == 1
    [message] = mailbox.to("big@example.org")
    [part] = list(message.iter_attachments())
    assert part.get_content() == data
    assert max(len(line) for line in message.as_string().splitlines()) <= 998
