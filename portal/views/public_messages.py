"""Public endpoints for messages: one-click unsubscribe (signed token), the WhatsApp webhook (HMAC signature), the
SMS and voice webhooks (Twilio's signature) and the inbound-mail webhook (Mailgun-style signature). No session and
no CSRF token by design: each authenticates itself (see the domain modules)."""

import logging

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal.messaging import calls, conversations, mail_routing, marketing, sms_inbound
from portal.request_limits import INBOUND_MAIL, OPT_KEY, WEBHOOK
from portal.views.pages import render

log = logging.getLogger(__name__)


class UnsubscribeController(Controller):
    path = "/unsubscribe"

    @get("/{token:str}", name="unsubscribe.show")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        """A confirm button: link scanners fetch with GET, so only the POST unsubscribes."""
        marketing.read_token(request.app.state.settings.secret_key, token)
        return render(request, "public_messages/unsubscribe.html", token=token, done=False)

    @post("/{token:str}", name="unsubscribe.confirm", exclude_from_csrf=True, status_code=200)
    async def confirm(self, request: Request, token: FromPath[str]) -> Template:
        """RFC 8058 one-click (List-Unsubscribe=One-Click) and the confirm button both land here."""
        await marketing.unsubscribe(request.app.state.settings, token)
        return render(request, "public_messages/unsubscribe.html", token=token, done=True)


class WhatsAppWebhookController(Controller):
    path = "/webhooks/whatsapp"

    @get("/", name="whatsapp.verify", media_type="text/plain")
    async def verify(self, request: Request) -> Response:
        """Meta's subscription handshake (hub.mode, hub.verify_token, hub.challenge)."""
        q = request.query_params
        challenge = conversations.verify_subscription(request.app.state.settings, q.get("hub.mode", ""),
                                                      q.get("hub.verify_token", ""), q.get("hub.challenge", ""))
        if challenge is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        return Response(challenge, media_type="text/plain")

    @post("/", name="whatsapp.receive", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes, opt={OPT_KEY: WEBHOOK})
    async def receive(self, request: Request) -> Response:
        """Incoming messages; refused unless X-Hub-Signature-256 matches the raw body."""
        body = await request.body()
        settings = request.app.state.settings
        try:
            messages = await conversations.read_signed(settings, body, request.headers.get("x-hub-signature-256"))
        except conversations.SignatureRefused:
            log.info("whatsapp webhook: bad or missing signature")
            return Response("forbidden", status_code=403, media_type="text/plain")
        except (ValueError, RecursionError) as exc:  # not JSON, nested past the stack, or not Meta's shape
            log.info("whatsapp webhook: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        await conversations.receive(settings, messages)
        return Response("ok", media_type="text/plain")


class SmsWebhookController(Controller):
    path = sms_inbound.PATH

    @post("/", name="sms.receive", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes, opt={OPT_KEY: WEBHOOK})
    async def receive(self, request: Request) -> Response:
        """An inbound text, form-encoded the way Twilio posts it; answered with empty TwiML (we reply, if at all,
        through the outbox)."""
        settings = request.app.state.settings
        fields = list((await request.form()).multi_items())
        fields = [(name, value) for name, value in fields if isinstance(value, str)]
        if not await sms_inbound.signature_valid(settings, fields, request.headers.get("x-twilio-signature")):
            log.info("sms webhook: bad or missing signature")
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            sms = sms_inbound.read_form(fields)
        except sms_inbound.MalformedSms as exc:
            log.info("sms webhook: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        await sms_inbound.receive(sms)
        return Response('<?xml version="1.0" encoding="UTF-8"?><Response></Response>', media_type="text/xml")


class MailWebhookController(Controller):
    path = "/webhooks/mail"

    @post("/", name="mail.receive", exclude_from_csrf=True, status_code=200,
          request_max_body_size=INBOUND_MAIL.body_bytes, opt={OPT_KEY: INBOUND_MAIL})
    async def receive(self, request: Request) -> Response:
        """A mail forwarded by the provider's route (form fields and `attachment-N` files), checked by signature."""
        settings = request.app.state.settings
        form = await request.form()
        values = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        if not mail_routing.signature_valid(settings, values.get("timestamp", ""), values.get("token", ""),
                                            values.get("signature", "")):
            log.info("mail webhook: bad, missing or stale signature")
            return Response("forbidden", status_code=403, media_type="text/plain")
        parts = sorted(((name, value) for name, value in form.multi_items()
                        if not isinstance(value, str) and name.startswith("attachment-")),
                       key=lambda part: int(part[0].partition("-")[2]) if part[0].partition("-")[2].isdigit() else 0)
        files = [(value.filename or name, await value.read()) for name, value in parts]
        try:
            mail = mail_routing.read_form(values, files)
        except mail_routing.MalformedMail as exc:
            log.info("mail webhook: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        await mail_routing.receive(settings, mail)
        return Response("ok", media_type="text/plain")


TWIML = "text/xml"


class VoiceWebhookController(Controller):
    """Twilio's voice callbacks: the incoming call (answered with TwiML), its status, and a finished recording."""

    path = calls.PATH
    opt = {OPT_KEY: WEBHOOK}

    async def _signed_fields(self, request: Request, path: str) -> list[tuple[str, str]] | None:
        fields = [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
        settings = request.app.state.settings
        if not await calls.signature_valid(settings, path, fields, request.headers.get("x-twilio-signature")):
            log.info("voice webhook %s: bad or missing signature", path)
            return None
        return fields

    @post("/", name="voice.incoming", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes)
    async def incoming(self, request: Request) -> Response:
        fields = await self._signed_fields(request, calls.PATH)
        if fields is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            call = calls.read_incoming(fields)
        except calls.MalformedCall as exc:
            log.info("voice webhook: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        return Response(await calls.answer_incoming(request.app.state.settings, call), media_type=TWIML)

    @post("/status", name="voice.status", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes)
    async def status(self, request: Request) -> Response:
        fields = await self._signed_fields(request, calls.STATUS_PATH)
        if fields is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            await calls.call_status(fields)
        except calls.MalformedCall as exc:
            log.info("voice status: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        return Response("", status_code=204)

    @post("/recording", name="voice.recording", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes)
    async def recording(self, request: Request) -> Response:
        fields = await self._signed_fields(request, calls.RECORDING_PATH)
        if fields is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            await calls.recording_ready(request.app.state.settings, fields)
        except calls.MalformedCall as exc:
            log.info("voice recording: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        return Response("", status_code=204)
