"""The owner's page for the clinic's own SMS and WhatsApp accounts: saved encrypted, shown only as configured or off,
forgotten on request."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from portal.errors import ValidationFailed
from portal.messaging import channel_accounts
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render, see_other


class ChannelAccountsController(Controller):
    path = "/settings/channels"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, errors: dict | None = None, status: int = 200,
                    posted: dict | None = None) -> Template:
        settings = request.app.state.settings
        return render(request, "channels/index.html", status=status, errors=errors or {}, posted=posted or {},
                      accounts=await channel_accounts.overview(actor, settings))

    @get("/", name="channels.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Each channel: the clinic's own account configured or off (never a value), and the shared fallback."""
        return await self._page(request, actor)

    @post("/sms", name="channels.save_sms")
    async def save_sms(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        form = await request.form()
        account_sid = str(form.get("account_sid", ""))
        try:
            await channel_accounts.save_sms(actor, request.app.state.settings, account_sid,
                                            str(form.get("auth_token", "")))
        except ValidationFailed as exc:  # the token typed is not echoed back: it is a secret
            return await self._page(request, actor, exc.errors, 422, {"account_sid": account_sid})
        return see_other(request.app.route_reverse("channels.show") + "#sms")

    @post("/whatsapp", name="channels.save_whatsapp")
    async def save_whatsapp(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        form = await request.form()
        try:
            await channel_accounts.save_whatsapp(actor, request.app.state.settings,
                                                 str(form.get("whatsapp_token", "")), str(form.get("app_secret", "")))
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422)
        return see_other(request.app.route_reverse("channels.show") + "#whatsapp")

    @post("/sms/forget", name="channels.forget_sms")
    async def forget_sms(self, request: Request, actor: CurrentActor) -> Redirect:
        await channel_accounts.forget(actor, "sms")
        return see_other(request.app.route_reverse("channels.show") + "#sms")

    @post("/whatsapp/forget", name="channels.forget_whatsapp")
    async def forget_whatsapp(self, request: Request, actor: CurrentActor) -> Redirect:
        await channel_accounts.forget(actor, "whatsapp")
        return see_other(request.app.route_reverse("channels.show") + "#whatsapp")
