"""A patient's appointments on the patient page (loaded into it by htmx), with the way to book the next one."""

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Template

from portal.calendar import patient_visits
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render


class PatientVisitsController(Controller):
    path = "/patients/{patient_id:int}/appointments"
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/", name="patients.appointments")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Upcoming and past appointments with their status."""
        return render(request, "patient_visits/index.html", "patient_visits/_list.html", patient_id=patient_id,
                      visits=await patient_visits.for_patient(actor, patient_id))
