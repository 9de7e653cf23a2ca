"""The staff privacy inbox: every request and question with its legal clock; decisions; isolated records."""

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.permissions import Permission
from portal.privacy import erasure, erasure_window, request_decisions, requests
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class PrivacyRequestController(Controller):
    path = "/privacy-requests"
    guards = [signed_in, requires(Permission.HANDLE_PRIVACY_REQUESTS)]
    dependencies = {"actor": provide_actor}

    @get("/", name="privacy_requests.list")
    async def index(self, request: Request, actor: CurrentActor, show: FromQuery[str] = "open") -> Template:
        """Open requests first, soonest due first."""
        return render(request, "privacy_requests/list.html", rows=await requests.inbox(actor, show), show=show)

    async def _detail(self, request: Request, actor, request_id: int, errors: dict | None = None,
                      status: int = 200) -> Template:
        return render(request, "privacy_requests/show.html", status=status, row=await requests.get_request(
            actor, request_id), errors=errors or {}, kinds=requests.KINDS, channels=requests.CHANNELS)

    @get("/{request_id:int}", name="privacy_requests.show")
    async def show(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Template:
        """One request: what was asked, the clock, and the decision form."""
        return await self._detail(request, actor, request_id)

    @post("/{request_id:int}/assign", name="privacy_requests.assign")
    async def assign(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Template | Redirect:
        """Give the request to a member of staff."""
        raw = str((await request.form()).get("assignee", ""))
        try:
            await requests.assign(actor, request_id, whole_number(raw))
        except ValidationFailed as exc:
            return await self._detail(request, actor, request_id, exc.errors, 422)
        return see_other(request.app.route_reverse("privacy_requests.show", request_id=request_id))

    @post("/{request_id:int}/decide", name="privacy_requests.decide")
    async def decide(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Template | Redirect:
        """Approve or refuse (with a reason), or answer a question; the patient is mailed."""
        form = await read_form(request, request_decisions.DecisionForm)
        try:
            await request_decisions.decide(actor, request_id, form, request.app.state.settings.erasure_undo_minutes)
        except ValidationFailed as exc:
            return await self._detail(request, actor, request_id, exc.errors, 422)
        return see_other(request.app.route_reverse("privacy_requests.show", request_id=request_id))

    @post("/{request_id:int}/undo-erasure", name="privacy_requests.undo_erasure")
    async def undo_erasure(self, request: Request, actor: CurrentActor,
                           request_id: FromPath[int]) -> Template | Redirect:
        """Stop an approved erasure while its undo window lasts."""
        try:
            await erasure_window.undo(actor, request_id)
        except ValidationFailed as exc:
            return await self._detail(request, actor, request_id, exc.errors, 422)
        return see_other(request.app.route_reverse("privacy_requests.show", request_id=request_id))

    @post("/{request_id:int}/extend", name="privacy_requests.extend")
    async def extend(self, request: Request, actor: CurrentActor, request_id: FromPath[int]) -> Template | Redirect:
        """Extend the deadline once, by up to two months; the reason is mailed to the patient."""
        form = await read_form(request, request_decisions.ExtendForm)
        try:
            await request_decisions.extend(actor, request_id, form)
        except ValidationFailed as exc:
            return await self._detail(request, actor, request_id, {f"extend_{k}": v for k, v in exc.errors.items()},
                                      422)
        return see_other(request.app.route_reverse("privacy_requests.show", request_id=request_id))

    @get("/new/{patient_id:int}", name="privacy_requests.new")
    async def new(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """File a request a patient made by phone, letter or at the desk."""
        return render(request, "privacy_requests/new.html", patient=await requests.patient_for_form(actor, patient_id),
                      form=requests.OnBehalfForm(), errors={}, kinds=requests.KINDS, channels=requests.CHANNELS)

    @post("/new/{patient_id:int}", name="privacy_requests.create")
    async def create(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Save the request on the patient's behalf."""
        form = await read_form(request, requests.OnBehalfForm)
        try:
            request_id = await requests.file_on_behalf(actor, patient_id, form)
        except ValidationFailed as exc:
            return render(request, "privacy_requests/new.html", status=422,
                          patient=await requests.patient_for_form(actor, patient_id), form=form, errors=exc.errors,
                          kinds=requests.KINDS, channels=requests.CHANNELS)
        return see_other(request.app.route_reverse("privacy_requests.show", request_id=request_id))

    @get("/restricted", name="privacy_requests.restricted",
         guards=[requires(Permission.ACCESS_RESTRICTED_RECORDS)])
    async def restricted(self, request: Request, actor: CurrentActor) -> Template:
        """Isolated records (erased on request, kept under a legal duty): the owner only."""
        return render(request, "privacy_requests/restricted.html", rows=await erasure.isolated_patients(actor),
                      errors={})

    @post("/restricted/{patient_id:int}", name="privacy_requests.open_restricted",
          guards=[requires(Permission.ACCESS_RESTRICTED_RECORDS)])
    async def open_restricted(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """Open an isolated record, with the reason recorded in the audit trail."""
        form = await read_form(request, erasure.ReasonForm)
        try:
            record = await erasure.open_isolated(actor, patient_id, form.reason)
        except ValidationFailed as exc:
            return render(request, "privacy_requests/restricted.html", status=422,
                          rows=await erasure.isolated_patients(actor), errors=exc.errors, failed_id=patient_id)
        return render(request, "privacy_requests/restricted_record.html", **record, reason=form.reason)
