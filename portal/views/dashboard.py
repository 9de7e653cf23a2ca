"""The staff dashboard."""

from litestar import Controller, Request, get
from litestar.response import Template

from portal import dashboard
from portal.views.guards import CurrentActor, provide_actor, signed_in
from portal.views.pages import render


class DashboardController(Controller):
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="dashboard")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Today's clinic at a glance."""
        return render(request, "dashboard/index.html", overview=await dashboard.clinic_overview(actor))
