"""Calls for staff: the live panel (who is calling now), the call log, and a patient's calls with recordings."""

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from portal import patients
from portal.messaging import calls
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render


class CallsController(Controller):
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/calls", name="calls.index", guards=[requires(Permission.MANAGE_CALENDAR)])
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """The front desk's calls: who is calling now (refreshed), and the log."""
        return render(request, "calls/index.html", live=await calls.live(actor), log=await calls.recent(actor))

    @get("/calls/live", name="calls.live", guards=[requires(Permission.MANAGE_CALENDAR)])
    async def live(self, request: Request, actor: CurrentActor) -> Template:
        """The live panel alone, polled every few seconds by htmx."""
        return render(request, "calls/_live.html", live=await calls.live(actor))

    @get("/patients/{patient_id:int}/calls", name="patients.calls", guards=[requires(Permission.READ_DEMOGRAPHICS)])
    async def of_patient(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The patient's calls, with the recordings they agreed to."""
        patient = await patients.get_patient(actor, patient_id, purpose="calls_viewed")
        return render(request, "calls/patient.html", patient=patient, calls=await calls.of_patient(actor, patient_id))

    @get("/patients/{patient_id:int}/calls/recordings/{recording_id:int}", name="patients.call_recording",
         guards=[requires(Permission.READ_DEMOGRAPHICS)])
    async def recording(self, actor: CurrentActor, patient_id: FromPath[int], recording_id: FromPath[int]) -> Response:
        """The audio of one recording (each play is audited)."""
        found = await calls.recording_audio(actor, patient_id, recording_id)
        return Response(bytes(found["data"]), media_type=found["content_type"], headers={"Cache-Control": "no-store"})
