"""Social leads: the owner connects or disconnects the clinic's Facebook Page; Meta's webhooks (lead ads, the
data-deletion callback) and the public status page of a deletion. The webhooks authenticate themselves by Meta's
signatures, so they carry no session and no CSRF token."""

import json
import logging

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import security_headers
from portal.messaging import conversations, social
from portal.permissions import Permission
from portal.request_limits import OPT_KEY, WEBHOOK
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render, see_other

log = logging.getLogger(__name__)


class SocialController(Controller):
    path = "/settings/social"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, problem: str = "", status: int = 200) -> Template:
        settings = request.app.state.settings
        page = render(request, "social/index.html", status=status, enabled=social.enabled(settings),
                      page=await social.connection(actor), disconnections=await social.disconnections(actor),
                      problem=problem)
        if social.enabled(settings):  # "Connect" is answered with a redirect to Meta's dialog: allow that target
            page.headers["content-security-policy"] = security_headers.policy_sending_forms_to(
                social.dialog_origin(settings))
        return page

    @get("/", name="social.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Whether lead ads are on, the connected Page, and the proof of past disconnections."""
        return await self._page(request, actor)

    @post("/connect", name="social.connect")
    async def connect(self, request: Request, actor: CurrentActor) -> Redirect | Template:
        """Off to Meta's login dialog with a signed state."""
        settings = request.app.state.settings
        if not social.enabled(settings):
            return await self._page(request, actor, "off", 409)
        return Redirect(path=social.dialog_url(settings, actor), status_code=303)

    @get("/callback", name="social.callback")
    async def callback(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Meta sends the owner back here with `code` and our `state`: one Page is connected at once, several are
        offered to choose from."""
        settings = request.app.state.settings
        q = request.query_params
        if not social.enabled(settings):
            return await self._page(request, actor, "off")  # nothing to exchange: the page says it is off
        if not q.get("code"):  # the owner cancelled the dialog (Meta sends error=access_denied)
            return await self._page(request, actor, "cancelled")
        try:
            user_id, pages = await social.pages_for_code(actor, settings, q.get("code", ""), q.get("state", ""))
            if len(pages) == 1:
                await social.connect(actor, settings, user_id, pages[0])
                return see_other(request.app.route_reverse("social.show"))
        except social.StateRefused as exc:
            log.info("meta oauth: state refused (%s)", exc)
            return await self._page(request, actor, "state", 400)
        except social.PageTaken:
            return await self._page(request, actor, "taken", 409)
        except social.GraphError as exc:
            log.info("meta oauth: graph refused (%s)", exc)
            return await self._page(request, actor, "refused", 502)
        if not pages:
            return await self._page(request, actor, "no_pages", 400)
        return render(request, "social/choose.html", pages=[{"id": p["id"], "name": p["name"]} for p in pages],
                      sealed=social.seal(settings, user_id, pages))

    @post("/choose", name="social.choose")
    async def choose(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        settings = request.app.state.settings
        form = await request.form()
        try:
            user_id, pages = social.unseal(settings, str(form.get("sealed", "")))
            page = next((p for p in pages if p["id"] == str(form.get("page_id", ""))), None)
            if page is None:
                raise social.StateRefused("not one of the offered pages")
            await social.connect(actor, settings, user_id, page)
        except social.StateRefused:
            return await self._page(request, actor, "state", 400)
        except social.PageTaken:
            return await self._page(request, actor, "taken", 409)
        except social.GraphError:
            return await self._page(request, actor, "refused", 502)
        return see_other(request.app.route_reverse("social.show"))

    @post("/disconnect", name="social.disconnect")
    async def disconnect(self, request: Request, actor: CurrentActor) -> Redirect:
        """Token and Page data deleted at once; the counts are kept as proof."""
        await social.disconnect(actor, request.app.state.settings)
        return see_other(request.app.route_reverse("social.show"))


class MetaWebhookController(Controller):
    path = "/webhooks/meta"
    opt = {OPT_KEY: WEBHOOK}

    @get("/", name="meta.verify", media_type="text/plain")
    async def verify(self, request: Request) -> Response:
        """Meta's subscription handshake (hub.mode, hub.verify_token, hub.challenge)."""
        q = request.query_params
        challenge = social.verify_subscription(request.app.state.settings, q.get("hub.mode", ""),
                                               q.get("hub.verify_token", ""), q.get("hub.challenge", ""))
        if challenge is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        return Response(challenge, media_type="text/plain")

    @post("/", name="meta.receive", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes)
    async def receive(self, request: Request) -> Response:
        """Lead-ads changes; refused unless X-Hub-Signature-256 matches the raw body."""
        body = await request.body()
        settings = request.app.state.settings
        if not conversations.signature_valid(settings.meta_app_secret, body,
                                             request.headers.get("x-hub-signature-256")):
            log.info("meta webhook: bad or missing signature")
            return Response("forbidden", status_code=403, media_type="text/plain")
        try:
            changes = social.read_payload(json.loads(body))
        except (ValueError, RecursionError) as exc:
            log.info("meta webhook: malformed signed body (%s)", exc)
            return Response("bad request", status_code=400, media_type="text/plain")
        await social.receive(settings, changes)
        return Response("ok", media_type="text/plain")

    @post("/deletion", name="meta.deletion", exclude_from_csrf=True, status_code=200,
          request_max_body_size=WEBHOOK.body_bytes)
    async def deletion(self, request: Request) -> Response:
        """Meta's data-deletion callback: a verified `signed_request` deletes what that person connected."""
        settings = request.app.state.settings
        form = await request.form()
        signed = form.get("signed_request")
        if not isinstance(signed, str) or not signed:
            return Response({"error": "signed_request missing"}, status_code=400)
        payload = social.read_signed_request(settings, signed)
        if payload is None:
            log.info("meta deletion callback: signed_request not verified")
            return Response({"error": "signed_request not verified"}, status_code=403)
        code = await social.deletion_requested(settings, str(payload["user_id"])[:64])
        return Response({"url": social.status_url(settings, code), "confirmation_code": code})


class DeletionStatusController(Controller):
    path = "/social/deletion"

    @get("/{code:str}", name="social.deletion_status")
    async def status(self, request: Request, code: FromPath[str]) -> Template:
        """Public: what was deleted for this confirmation code, and when the later check found nothing left."""
        found = await social.deletion_status(code[:40])
        if found is None:
            raise NotFoundException()
        return render(request, "social/deletion.html", code=code, found=found, time_zone="UTC")
