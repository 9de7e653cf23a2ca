"""What a patient's previous clinic handed over beyond the chart: signed forms, lab work and its account, as history."""

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from portal import patients
from portal.permissions import Permission
from portal.privacy import record_import_history
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import render, wants_fragment

NO_STORE = {"Cache-Control": "no-store"}


def _pdf(name: str, data: bytes) -> Response:
    return Response(data, media_type="application/pdf",
                    headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


class PreviousClinicController(Controller):
    path = "/patients/{patient_id:int}/previous-clinic"
    guards = [signed_in]
    dependencies = {"actor": provide_actor}

    @get("/", name="previous_clinic.show", guards=[requires(Permission.READ_DEMOGRAPHICS)])
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template:
        """The imported history each reader may see (forms and lab: clinical; the statement: payments); the patient
        page loads the fragment, which is empty when nothing was imported."""
        imports = await record_import_history.previous_clinic(actor, patient_id)
        # the panel on the patient page needs only the id (that page already read and audited the patient)
        patient = {"id": patient_id} if wants_fragment(request) else await patients.get_patient(
            actor, patient_id, purpose="previous_clinic_viewed")
        return render(request, "previous_clinic/show.html", "previous_clinic/_panel.html", patient=patient,
                      imports=imports)

    @get("/forms/{imported_form_id:int}", name="previous_clinic.form_pdf",
         guards=[requires(Permission.READ_CLINICAL)])
    async def form_pdf(self, actor: CurrentActor, patient_id: FromPath[int],
                       imported_form_id: FromPath[int]) -> Response:
        """A form's signed PDF as the previous clinic made it."""
        return _pdf(*await record_import_history.imported_file(actor, patient_id, imported_form_id, "forms"))

    @get("/invoices/{imported_invoice_id:int}", name="previous_clinic.invoice_pdf",
         guards=[requires(Permission.HANDLE_PAYMENTS)])
    async def invoice_pdf(self, actor: CurrentActor, patient_id: FromPath[int],
                          imported_invoice_id: FromPath[int]) -> Response:
        """An invoice of the previous clinic as it issued it."""
        return _pdf(*await record_import_history.imported_file(actor, patient_id, imported_invoice_id, "invoices"))
