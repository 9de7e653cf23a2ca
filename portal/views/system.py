"""Pages anyone may fetch: health check, the privacy-signal file and the cookie statement."""

from litestar import Controller, Request, get
from litestar.response import Template

from portal.views.pages import render


class SystemController(Controller):
    @get("/healthz", name="healthz", sync_to_thread=False)
    def health(self) -> dict:
        """Liveness for load balancers and the set-up script (no database round trip)."""
        return {"status": "ok"}

    @get("/.well-known/gpc.json", name="gpc", sync_to_thread=False)
    def global_privacy_control(self) -> dict:
        """We sell and share nothing, so a GPC signal is honoured by default."""
        return {"gpc": True, "lastUpdate": "2026-11-24"}

    @get("/cookies", name="cookies")
    async def cookies(self, request: Request) -> Template:
        """Which cookies we set and why (essential ones only)."""
        return render(request, "system/cookies.html")
