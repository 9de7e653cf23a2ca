"""A patient's prescriptions: write with the history's warnings beside the form, sign, open the PDF, mail it."""

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.charts import chart
from portal.documents import prescriptions
from portal.errors import ValidationFailed
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class PrescriptionController(Controller):
    path = "/patients/{patient_id:int}/prescriptions"
    guards = [signed_in, requires(Permission.READ_CLINICAL)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, patient_id: int, errors: dict | None = None,
                    status: int = 200, mail: prescriptions.MailForm | None = None,
                    mailed: int | None = None) -> Template:
        return render(request, "prescriptions/list.html", status=status,
                      patient=await chart.header(actor, patient_id),
                      prescriptions=await prescriptions.list_prescriptions(actor, patient_id), errors=errors or {},
                      mail=mail or prescriptions.MailForm(to=await prescriptions.patient_email(actor, patient_id)),
                      mailed=mailed)

    @get("/", name="prescriptions.list")
    async def index(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                    mailed: FromQuery[int | None] = None) -> Template:
        """Signed prescriptions, newest first."""
        return await self._list(request, actor, patient_id, mailed=mailed)

    async def _form(self, request: Request, actor, patient_id: int, form: prescriptions.PrescriptionForm,
                    errors: dict, status: int = 200) -> Template:
        warnings = await prescriptions.check(actor, patient_id, form.medicine) if form.medicine else []
        return render(request, "prescriptions/new.html", status=status,
                      patient=await chart.header(actor, patient_id), form=form, errors=errors, warnings=warnings)

    @get("/new", name="prescriptions.new", guards=[requires(Permission.WRITE_CLINICAL)])
    async def new(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """An empty prescription."""
        return await self._form(request, actor, patient_id, prescriptions.PrescriptionForm(), {})

    @post("/", name="prescriptions.sign", guards=[requires(Permission.WRITE_CLINICAL)])
    async def sign(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Check against the history and sign; a warning must be confirmed first."""
        form = await read_form(request, prescriptions.PrescriptionForm)
        try:
            await prescriptions.sign_prescription(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._form(request, actor, patient_id, form, exc.errors, 422)
        return see_other(request.app.route_reverse("prescriptions.list", patient_id=patient_id))

    @get("/{prescription_id:int}/pdf", name="prescriptions.pdf")
    async def pdf(self, actor: CurrentActor, patient_id: FromPath[int], prescription_id: FromPath[int]) -> Response:
        """The PDF as signed."""
        data = await prescriptions.signed_pdf(actor, patient_id, prescription_id)
        return Response(content=data, media_type="application/pdf", headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="prescription-{prescription_id}.pdf"'})

    @post("/{prescription_id:int}/mail", name="prescriptions.mail", guards=[requires(Permission.WRITE_CLINICAL)])
    async def mail(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   prescription_id: FromPath[int]) -> Template | Redirect:
        """Mail the signed PDF to the patient or a pharmacy."""
        form = await read_form(request, prescriptions.MailForm)
        try:
            await prescriptions.mail_prescription(actor, patient_id, prescription_id, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, patient_id, {prescription_id: exc.errors}, 422, mail=form)
        return see_other(request.app.route_reverse("prescriptions.list", patient_id=patient_id)
                         + f"?mailed={prescription_id}")
