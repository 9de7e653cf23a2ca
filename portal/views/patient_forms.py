"""Patient forms: staff send a form and review what came back (differences, accept or decline, the signed PDF);
the patient fills and signs it on a signed-out page opened by the link in their mail (390 px first)."""

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from portal import i18n, patients
from portal.errors import NotFound, ValidationFailed
from portal.patient_forms import catalogue, filling, review
from portal.permissions import Permission
from portal.request_limits import OPT_KEY, Limits
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

NO_STORE = {"Cache-Control": "no-store"}
# A filled form carries three long answers and a drawn signature (up to signatures.MAX_POINTS points, ~17 bytes
# each form-encoded): more body than PUBLIC allows, still no more fields.
SIGNED_FORM = Limits(body_bytes=160 * 1024, fields=50)


class PatientFormsController(Controller):
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, patient_id: int, status: int = 200, **context) -> Template:
        patient = await patients.get_patient(actor, patient_id, purpose="forms_viewed")
        context.setdefault("send", filling.SendForm())
        context.setdefault("errors", {})
        return render(request, "patient_forms/index.html", status=status, patient=patient,
                      forms=await review.of_patient(actor, patient_id), form_templates=await catalogue.templates(actor),
                      **context)

    @get("/patients/{patient_id:int}/forms", name="patient_forms.index", guards=[requires(Permission.READ_CLINICAL)])
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        return await self._page(request, actor, patient_id)

    @post("/patients/{patient_id:int}/forms", name="patient_forms.send", guards=[requires(Permission.WRITE_CLINICAL)])
    async def send(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Response:
        form = await read_form(request, filling.SendForm)
        try:
            await filling.send(actor, request.app.state.settings, patient_id, form)
        except ValidationFailed as failed:
            return await self._page(request, actor, patient_id, status=422, send=form, errors=failed.errors)
        return see_other(f"/patients/{patient_id}/forms")

    @get("/patients/{patient_id:int}/forms/{form_id:int}", name="patient_forms.show",
         guards=[requires(Permission.READ_CLINICAL)])
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   form_id: FromPath[int]) -> Template:
        return await self._show(request, actor, patient_id, form_id)

    async def _show(self, request, actor, patient_id, form_id, status=200, errors=None) -> Template:
        form = await review.show(actor, patient_id, form_id)
        patient = await patients.get_patient(actor, patient_id, purpose="forms_viewed")
        return render(request, "patient_forms/show.html", status=status, patient=patient, form=form,
                      errors=errors or {})

    @post("/patients/{patient_id:int}/forms/{form_id:int}/accept", name="patient_forms.accept",
          guards=[requires(Permission.WRITE_CLINICAL)])
    async def accept(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     form_id: FromPath[int]) -> Template | Response:
        try:
            await review.accept(actor, patient_id, form_id)
        except ValidationFailed as failed:
            return await self._show(request, actor, patient_id, form_id, status=409, errors=failed.errors)
        return see_other(f"/patients/{patient_id}/forms/{form_id}")

    @post("/patients/{patient_id:int}/forms/{form_id:int}/decline", name="patient_forms.decline",
          guards=[requires(Permission.WRITE_CLINICAL)])
    async def decline(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      form_id: FromPath[int]) -> Template | Response:
        try:
            await review.decline(actor, patient_id, form_id)
        except ValidationFailed as failed:
            return await self._show(request, actor, patient_id, form_id, status=409, errors=failed.errors)
        return see_other(f"/patients/{patient_id}/forms/{form_id}")

    @get("/patients/{patient_id:int}/forms/{form_id:int}/pdf", name="patient_forms.pdf",
         guards=[requires(Permission.READ_CLINICAL)])
    async def pdf(self, actor: CurrentActor, patient_id: FromPath[int], form_id: FromPath[int]) -> Response:
        name, data = await review.signed_pdf(actor, patient_id, form_id)
        return Response(data, media_type="application/pdf",
                        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


class FillFormController(Controller):
    """The patient's page: no session; the link's secret is the authentication, and it ends when signed."""

    path = filling.PATH

    async def _page(self, request: Request, token: str, form: dict, status: int = 200, typed=None, errors=None,
                    signer_name: str = "") -> Template:
        i18n.use(form["language"])
        return Template("patient_forms/fill.html", status_code=status, headers=NO_STORE, context={
            "form": form, "token": token, "typed": typed or {}, "errors": errors or {}, "signer_name": signer_name,
            "answer_of": lambda field: (typed or {}).get(field["name"], "")})

    @get("/{token:str}", name="patient_forms.fill")
    async def fill(self, request: Request, token: FromPath[str]) -> Template:
        try:
            form = await filling.open_link(token)
        except NotFound:
            return Template("patient_forms/link_invalid.html", status_code=404, headers=NO_STORE)
        return await self._page(request, token, form)

    @post("/{token:str}", name="patient_forms.submit", status_code=200,
          request_max_body_size=SIGNED_FORM.body_bytes, opt={OPT_KEY: SIGNED_FORM})
    async def submit(self, request: Request, token: FromPath[str]) -> Template:
        try:
            form = await filling.open_link(token)
        except NotFound:
            return Template("patient_forms/link_invalid.html", status_code=404, headers=NO_STORE)
        posted = await request.form()
        typed = {f["name"]: str(posted.get(f["name"], "")) for f in form["fields"]}
        signer_name = str(posted.get("signer_name", ""))
        i18n.use(form["language"])
        try:
            await filling.submit(token, typed, signer_name, str(posted.get("strokes", "")))
        except ValidationFailed as failed:
            return await self._page(request, token, form, 422, typed, failed.errors, signer_name)
        kiosk = bool(request.scope.get("session") and request.session.get("kiosk_clinic"))
        return Template("patient_forms/signed.html", headers=NO_STORE, context={"form": form, "kiosk": kiosk})
