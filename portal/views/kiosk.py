"""The clinic tablet in kiosk mode: started by staff, then only check-in (find today's appointment, confirm or change
contact details, sign pending forms, arrive); changed details only wait for confirmation (portal/contacts). The
kiosk's session holds no staff id, so every staff page refuses it; a patient's part is cleared after arriving, on
"Not me", and after IDLE_SECONDS without a tap."""

import time

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Template

from portal import sessions
from portal.errors import ValidationFailed
from portal.patient_forms import check_in
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

NO_STORE = {"Cache-Control": "no-store"}
PATIENT_KEYS = ("kiosk_patient", "kiosk_appointment", "kiosk_at", "kiosk_proposed")


class KioskStartController(Controller):
    guards = [signed_in, requires(Permission.MANAGE_CALENDAR)]
    dependencies = {"actor": provide_actor}

    @get("/kiosk/start", name="kiosk.start_page")
    async def start_page(self, request: Request) -> Template:
        return render(request, "kiosk/start.html")

    @post("/kiosk/start", name="kiosk.start")
    async def start(self, request: Request, actor: CurrentActor) -> Response:
        """Sign this device out of staff and into kiosk mode (a new session id: nothing of the staff one stays)."""
        clinic_id = await check_in.start(actor)
        await sessions.start_session(request, request.app.stores.get("sessions"), {"kiosk_clinic": clinic_id})
        return see_other("/kiosk")


def _kiosk(request: Request) -> tuple[int, dict]:
    """The kiosk's clinic and session; a device that is no kiosk is refused. An idle patient part is dropped."""
    session = request.session if request.scope.get("session") else {}
    clinic_id = session.get("kiosk_clinic")
    if not clinic_id:
        raise PermissionDeniedException()
    if session.get("kiosk_at") and time.time() - session["kiosk_at"] > check_in.IDLE_SECONDS:
        _clear(session)
    return clinic_id, session


def _clear(session: dict) -> None:
    for key in PATIENT_KEYS:
        session.pop(key, None)


def _page(name: str, status: int = 200, **context) -> Template:
    return Template(f"kiosk/{name}", status_code=status, headers=NO_STORE,
                    context={"idle": check_in.IDLE_SECONDS, **context})


class KioskController(Controller):
    path = "/kiosk"

    @get("/", name="kiosk.home")
    async def home(self, request: Request) -> Template:
        clinic_id, session = _kiosk(request)
        if session.get("kiosk_patient"):
            session["kiosk_at"] = time.time()
            return _page("visit.html", visit=await check_in.visit(clinic_id, session["kiosk_patient"]),
                         typed=check_in.ContactForm(), errors={}, proposed=session.pop("kiosk_proposed", None))
        return _page("find.html", typed={}, errors={})

    @post("/find", name="kiosk.find", status_code=200)
    async def find(self, request: Request) -> Template | Response:
        clinic_id, session = _kiosk(request)
        posted = await request.form()
        typed = {"family_name": str(posted.get("family_name", "")), "date_of_birth": str(posted.get("date_of_birth",
                                                                                                     ""))}
        try:
            found = await check_in.find(clinic_id, typed["family_name"], typed["date_of_birth"])
        except ValidationFailed as failed:
            return _page("find.html", 422, typed=typed, errors=failed.errors)
        session.update(kiosk_patient=found["patient_id"], kiosk_appointment=found["appointment_id"],
                       kiosk_at=time.time())
        return see_other("/kiosk")

    @post("/forms/{form_id:int}", name="kiosk.form")
    async def form(self, request: Request, form_id: FromPath[int]) -> Response:
        clinic_id, session = _kiosk(request)
        if not session.get("kiosk_patient"):
            return see_other("/kiosk")
        token = await check_in.form_link(clinic_id, session["kiosk_patient"], form_id)
        return see_other(f"/form/{token}")

    @post("/contact", name="kiosk.contact", status_code=200)
    async def contact(self, request: Request) -> Template | Response:
        """New contact details, each waiting for its holder's confirmation (nothing from the kiosk is trusted)."""
        clinic_id, session = _kiosk(request)
        if not session.get("kiosk_patient"):
            return see_other("/kiosk")
        typed = await read_form(request, check_in.ContactForm)
        session["kiosk_at"] = time.time()
        try:
            proposed = await check_in.change_contact(clinic_id, session["kiosk_patient"], typed)
        except ValidationFailed as failed:
            return _page("visit.html", 422, visit=await check_in.visit(clinic_id, session["kiosk_patient"]),
                         typed=typed, errors=failed.errors, proposed=None)
        session["kiosk_proposed"] = proposed
        return see_other("/kiosk")

    @post("/arrive", name="kiosk.arrive", status_code=200)
    async def arrive(self, request: Request) -> Template | Response:
        clinic_id, session = _kiosk(request)
        if not session.get("kiosk_patient"):
            return see_other("/kiosk")
        await check_in.arrive(clinic_id, session["kiosk_patient"], session["kiosk_appointment"])
        _clear(session)
        return _page("arrived.html")

    @post("/clear", name="kiosk.clear")
    async def clear(self, request: Request) -> Response:
        _clinic_id, session = _kiosk(request)
        _clear(session)
        return see_other("/kiosk")
