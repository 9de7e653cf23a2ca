"""Text-message channels: SMS through a Twilio-style REST gateway and WhatsApp through the Business Cloud
API. A channel with no credentials is off and says so (the owner's jobs page shows it). Each clinic may save its own
account (portal/messaging/channel_accounts.py); the shared one from the environment stands in for clinics that did
not.

Both send E.164 numbers (portal/phones.py stores them so). tests/test_channels.py runs each adapter against
a local HTTP server that checks every request the way the provider documents it.
"""

from dataclasses import dataclass
from datetime import timedelta

import httpx

from portal import links
from portal.messaging import channel_accounts, outbox
from portal.messaging.channel_accounts import SmsAccount, WhatsAppAccount
from portal.settings import Settings

TIMEOUT = httpx.Timeout(15.0)


class ChannelOff(Exception):
    """The channel has no credentials configured."""


class SendFailed(Exception):
    pass


@dataclass(frozen=True)
class TextMessage:
    to: str  # E.164, e.g. +31612345678
    body: str
    template: str = ""  # WhatsApp: an approved template's name (required outside the 24-hour window)
    language: str = "en"
    parameters: tuple[str, ...] = ()  # the template body's {{1}}, {{2}} ...
    sender: str = ""  # SMS: the clinic's own number (E.164); empty for the shared SMS_FROM


class SmsChannel:
    """POST form-encoded To/From/Body to /2010-04-01/Accounts/{sid}/Messages.json with basic auth."""

    name = "sms"

    def __init__(self, settings: Settings, account: SmsAccount | None = None) -> None:
        self.settings = settings
        self.account = account or SmsAccount(settings.sms_account_sid, settings.sms_auth_token, settings.sms_from)

    @property
    def configured(self) -> bool:
        a = self.account
        return bool(a.account_sid and a.auth_token and a.sender)

    async def send(self, message: TextMessage, client: httpx.AsyncClient | None = None) -> str:
        if not self.configured:
            raise ChannelOff("SMS is off: save the clinic's account, or set SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM")
        a = self.account
        url = f"{self.settings.sms_api_url.rstrip('/')}/2010-04-01/Accounts/{a.account_sid}/Messages.json"
        async with _client(client) as http:
            response = await http.post(url, data={"To": message.to, "From": message.sender or a.sender,
                                                  "Body": message.body},
                                       auth=(a.account_sid, a.auth_token))
        if response.status_code not in (200, 201):
            raise SendFailed(f"SMS gateway answered {response.status_code}: {response.text[:300]}")
        return str(response.json().get("sid", ""))


class WhatsAppChannel:
    """POST /{version}/{phone_number_id}/messages with a Bearer token: templates for reminders, text replies."""

    name = "whatsapp"

    def __init__(self, settings: Settings, account: WhatsAppAccount | None = None) -> None:
        self.settings = settings
        self.account = account or WhatsAppAccount(settings.whatsapp_token, settings.whatsapp_phone_number_id,
                                                  settings.whatsapp_app_secret)

    @property
    def configured(self) -> bool:
        return bool(self.account.token and self.account.phone_number_id)

    def payload(self, message: TextMessage) -> dict:
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to.lstrip("+")}
        if message.template:
            components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in message.parameters]}]
            return {**base, "type": "template", "template": {
                "name": message.template, "language": {"code": message.language},
                **({"components": components} if message.parameters else {})}}
        return {**base, "type": "text", "text": {"preview_url": False, "body": message.body}}

    async def send(self, message: TextMessage, client: httpx.AsyncClient | None = None) -> str:
        if not self.configured:
            raise ChannelOff("WhatsApp is off: save the clinic's account, or set WHATSAPP_TOKEN and "
                             "WHATSAPP_PHONE_NUMBER_ID")
        s, a = self.settings, self.account
        url = f"{s.whatsapp_api_url.rstrip('/')}/{s.whatsapp_api_version}/{a.phone_number_id}/messages"
        async with _client(client) as http:
            response = await http.post(url, json=self.payload(message),
                                       headers={"Authorization": f"Bearer {a.token}"})
        if response.status_code != 200:
            raise SendFailed(f"WhatsApp answered {response.status_code}: {response.text[:300]}")
        messages = response.json().get("messages") or [{}]
        return str(messages[0].get("id", ""))


class _client:
    """Use the caller's client, or a short-lived one."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self.given, self.own = client, None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self.given is not None:
            return self.given
        self.own = httpx.AsyncClient(timeout=TIMEOUT)
        return self.own

    async def __aexit__(self, *exc) -> None:
        if self.own is not None:
            await self.own.aclose()


async def in_use(settings: Settings, name: str) -> bool:
    """Whether any clinic can send over this channel, so planners queue its messages (off clinics' rows wait)."""
    return await channel_accounts.in_use(settings, name)


def channel(name: str, settings: Settings):
    return {"sms": SmsChannel, "whatsapp": WhatsAppChannel}[name](settings)


def status(settings: Settings) -> list[dict]:
    """Each channel, on or off, and what turns it on."""
    sms, whatsapp = SmsChannel(settings), WhatsAppChannel(settings)
    return [
        {"name": "Email", "on": True, "detail": settings.smtp_url.split("@")[-1]},
        {"name": "SMS", "on": sms.configured,
         "detail": f"from {settings.sms_from} (or the clinic's own number); replies: set the number's messaging "
                   f"webhook to {links.absolute_url(settings, '/webhooks/sms')}" if sms.configured else
         "no credentials (set SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM, or save the clinic's own account on "
         "/settings/channels)"},
        {"name": "WhatsApp", "on": whatsapp.configured,
         "detail": f"phone number id {settings.whatsapp_phone_number_id}" if whatsapp.configured else
         "no credentials (set WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, or save the clinic's own account on "
         "/settings/channels)"},
    ]


async def deliver_due_texts(settings: Settings, limit: int = 50) -> int:
    """Send due SMS and WhatsApp rows of the outbox, each through its clinic's account (its own, else the shared
    one). Rows of a clinic whose channel is off are not claimed: they wait, and the owner page says why."""
    sent = 0
    for name in ("sms", "whatsapp"):
        own = await channel_accounts.clinics_with_own(name)
        shared = channel_accounts.shared(settings, name)
        if not own and not shared:
            continue
        rows = await outbox.claim_due(limit, timedelta(seconds=settings.outbox_lease_seconds), channel=name,
                                      clinics=None if shared else own)
        if not rows:
            continue
        adapters = {}
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            for row in rows:
                clinic_id = row["clinic_id"]
                if clinic_id not in adapters:
                    adapters[clinic_id] = await _adapter(name, settings, clinic_id)
                adapter = adapters[clinic_id]
                if adapter is None:  # its own account lacks the clinic's number: the row waits for the owner
                    await outbox.mark_failed(row, f"{name} is off for this clinic: no account or number")
                    continue
                headers = row["headers"] or {}
                message = TextMessage(to=row["recipient"], body=row["text_body"], template=headers.get("template", ""),
                                      language=headers.get("language", "en"),
                                      parameters=tuple(p for p in headers.get("parameters", "").split("\n") if p))
                try:
                    await adapter.send(message, http)
                except (SendFailed, httpx.HTTPError) as exc:
                    await outbox.mark_failed(row, str(exc) or type(exc).__name__)
                    continue
                await outbox.mark_sent(row["id"])
                sent += 1
    return sent


async def _adapter(name: str, settings: Settings, clinic_id: int | None):
    """The clinic's channel with its account (a reply reaches the clinic that wrote, sms_inbound), or None."""
    if name == "sms":
        account = await channel_accounts.sms_account(settings, clinic_id)
        return SmsChannel(settings, account) if account else None
    account = await channel_accounts.whatsapp_account(settings, clinic_id)
    return WhatsAppChannel(settings, account) if account else None
