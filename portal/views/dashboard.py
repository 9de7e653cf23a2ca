"""The staff dashboard: the clinic at a glance and the front desk's today board (polled, with one-tap arrivals)."""

from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import dashboard
from portal.calendar import front_desk, scheduling
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


@dataclass
class StatusForm:
    status: str = ""


class DashboardController(Controller):
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="dashboard")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Today's clinic at a glance, the front desk board first (its calendar version keeps the counts)."""
        board = await front_desk.today(actor)
        overview = await dashboard.clinic_overview(actor, board.version)
        return render(request, "dashboard/index.html", overview=overview, board=board, errors={},
                      has_figures=dashboard.has_figures(actor))

    @get("/dashboard/figures", name="dashboard.figures")
    async def figures(self, request: Request, actor: CurrentActor) -> Template:
        """The blocks that change rarely (breach and privacy clocks, money, late lab work, the Page's reach): the
        dashboard loads them after its first paint, so the page itself stays small and quick."""
        return render(request, "dashboard/figures.html", "dashboard/_figures.html",
                      figures=await dashboard.clinic_figures(actor))

    @get("/today", name="dashboard.today", guards=[requires(Permission.MANAGE_CALENDAR)])
    async def board(self, request: Request, actor: CurrentActor) -> Template:
        """The board alone: what the dashboard polls every 30 seconds."""
        return render(request, "dashboard/today.html", "dashboard/_today.html", board=await front_desk.today(actor),
                      errors={})

    @get("/today/chairs", name="dashboard.chairs", guards=[requires(Permission.MANAGE_CALENDAR)])
    async def chairs(self, request: Request, actor: CurrentActor) -> Template:
        """Every chair's appointments today: read when the board's "Every chair today" is opened."""
        return render(request, "dashboard/chairs.html", "dashboard/_chairs.html", board=await front_desk.today(actor),
                      errors={})

    @post("/today/{appointment_id:int}/status", name="dashboard.status", status_code=200,
          guards=[requires(Permission.MANAGE_CALENDAR)])
    async def set_status(self, request: Request, actor: CurrentActor,
                         appointment_id: FromPath[int]) -> Template | Redirect:
        """One tap: arrived, seated, completed; the redrawn board comes back (a refusal says why on it)."""
        form = await read_form(request, StatusForm)
        errors, status = {}, 200
        try:
            await scheduling.set_status(actor, appointment_id, form.status)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
        if not request.htmx:  # a plain form post: back to the dashboard (post-redirect-get)
            return see_other(request.app.route_reverse("dashboard"))
        response = render(request, "dashboard/today.html", "dashboard/_today.html", status=status,
                          board=await front_desk.today(actor), errors=errors)
        response.headers["HX-Replace-Url"] = request.app.route_reverse("dashboard")
        return response
