"""The privacy centre's account page: a signed-in patient lists and downloads their own invoices and statements."""

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Template

from portal.billing import patient_copies
from portal.views.billing import _pdf
from portal.views.privacy_centre import PatientSignInRequired, _me, _to_sign_in, page, patient_signed_in


class BillingPatientController(Controller):
    path = "/privacy/me/account"
    guards = [patient_signed_in]
    exception_handlers = {PatientSignInRequired: _to_sign_in}

    @get("/", name="billing_patient.show")
    async def show(self, request: Request) -> Template:
        """The accounts the patient heads with their invoices, each a PDF download, and a statement per account."""
        return page(request, "billing_patient/list.html", **await patient_copies.own_documents(_me(request)))

    @get("/invoices/{invoice_id:int}/pdf", name="billing_patient.invoice_pdf")
    async def invoice_pdf(self, request: Request, invoice_id: FromPath[int]) -> Response:
        """One of the patient's own invoices as PDF."""
        return _pdf(*await patient_copies.own_invoice_pdf(_me(request), invoice_id))

    @get("/statements/{account_id:int}/pdf", name="billing_patient.statement_pdf")
    async def statement_pdf(self, request: Request, account_id: FromPath[int]) -> Response:
        """The statement of an account the patient heads, as PDF."""
        return _pdf(*await patient_copies.own_statement_pdf(_me(request), account_id))
