"""The staff dashboard."""

from litestar import Controller, Request, get
from litestar.response import Template

from portal import dashboard
from portal.views.web import CurrentActor, provide_actor, render, signed_in


class DashboardController(Controller):
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="dashboard")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Today's clinic at a glance."""
        return render(request, "dashboard/index.html", overview=await dashboard.clinic_overview(actor))
