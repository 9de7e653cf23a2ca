"""Public endpoints for messages: one-click unsubscribe (signed token) and the WhatsApp webhook (HMAC
signature). No session and no CSRF token by design: each authenticates itself (see the domain modules)."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal import marketing
from portal.views.web import render


class UnsubscribeController(Controller):
    path = "/unsubscribe"

    @get("/{token:str}", name="unsubscribe.show")
    async def show(self, request: Request, token: FromPath[str]) -> Template:
        """A confirm button: link scanners fetch with GET, so only the POST unsubscribes."""
        marketing.read_token(request.app.state.settings.secret_key, token)
        return render(request, "messages/unsubscribe.html", token=token, done=False)

    @post("/{token:str}", name="unsubscribe.confirm", exclude_from_csrf=True, status_code=200)
    async def confirm(self, request: Request, token: FromPath[str]) -> Template:
        """RFC 8058 one-click (List-Unsubscribe=One-Click) and the confirm button both land here."""
        await marketing.unsubscribe(request.app.state.settings, token)
        return render(request, "messages/unsubscribe.html", token=token, done=True)
