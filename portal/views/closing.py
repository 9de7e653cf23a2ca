"""Closing the clinic's account (the owner): start it, follow the export, confirm the handover, cancel."""

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template

from portal.closing import closure
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class ClosingController(Controller):
    path = "/closing"
    guards = [signed_in, requires(Permission.MANAGE_CLINIC)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, errors: dict | None = None, status: int = 200,
                    posted: dict | None = None) -> Template:
        return render(request, "closing/show.html", "closing/_progress.html", status=status,
                      closing=await closure.current(actor), errors=errors or {}, posted=posted or {},
                      under_retention=await closure.patients_under_retention(actor), wait_days=closure.WAIT_DAYS)

    @get("/", name="closing.show")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """What closing means, or the closure under way: countdown, export progress, handover, cancel."""
        return await self._page(request, actor)

    @post("/", name="closing.start")
    async def start(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Start the 30 days (the owner types the clinic's name)."""
        form = await read_form(request, closure.StartForm)
        try:
            await closure.start(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422, {"confirm_name": form.confirm_name})
        return see_other(request.app.route_reverse("closing.show"))

    @post("/cancel", name="closing.cancel")
    async def cancel(self, request: Request, actor: CurrentActor) -> Redirect:
        """Keep the clinic: the countdown stops."""
        await closure.cancel(actor)
        return see_other(request.app.route_reverse("closing.show"))

    @post("/handover", name="closing.handover")
    async def handover(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Record where the clinical records still under retention went."""
        form = await read_form(request, closure.HandoverForm)
        try:
            await closure.confirm_handover(actor, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, exc.errors, 422, {"handover_to": form.handover_to})
        return see_other(request.app.route_reverse("closing.show") + "#handover")

    @post("/export", name="closing.download", status_code=200)
    async def download(self, request: Request, actor: CurrentActor) -> Response:
        """The whole-clinic ZIP (a POST: each download is a recorded act, and no link to it lingers in a history)."""
        name, data = await closure.download(actor)
        return Response(content=data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
