"""Payer claims: the list with drafting by payer and date range, one claim with its lines and states, its PDF and
CSV, and marking it sent, recording the payer's payment or its rejection."""

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.billing import claim_documents, claims, payers
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.permissions import Permission
from portal.views.billing import _pdf
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other


class BillingClaimsController(Controller):
    path = "/billing/claims"
    guards = [signed_in, requires(Permission.HANDLE_PAYMENTS)]
    dependencies = {"actor": provide_actor}

    async def _list(self, request: Request, actor, status: int = 200, form=None, errors=None) -> Template:
        return render(request, "billing_claims/list.html", status=status, claims=await claims.list_claims(actor),
                      payers={"": _("Choose…"), **{str(p["id"]): p["name"] for p in await payers.list_payers(actor)}},
                      form=form or claims.DraftForm(), errors=errors or {})

    @get("/", name="billing_claims.list")
    async def index(self, request: Request, actor: CurrentActor) -> Template:
        """Every claim with its state, and a form to claim one payer's open shares in a date range."""
        return await self._list(request, actor)

    @post("/", name="billing_claims.draft")
    async def draft(self, request: Request, actor: CurrentActor) -> Template | Redirect:
        """Draft a claim of every patient's open shares of one payer (in the date range, if given)."""
        form = await read_form(request, claims.DraftForm)
        try:
            claim_id = await claims.draft(actor, form)
        except ValidationFailed as exc:
            return await self._list(request, actor, 422, form, exc.errors)
        return see_other(request.app.route_reverse("billing_claims.show", claim_id=claim_id))

    async def _show(self, request: Request, actor, claim_id: int, status: int = 200, errors=None,
                    payment=None, rejection=None) -> Template:
        return render(request, "billing_claims/show.html", status=status, claim=await claims.read(actor, claim_id),
                      errors=errors or {}, payment=payment or claims.ClaimPaymentForm(),
                      rejection=rejection or claims.RejectForm())

    @get("/{claim_id:int}", name="billing_claims.show")
    async def show(self, request: Request, actor: CurrentActor, claim_id: FromPath[int]) -> Template:
        """One claim: its lines, what is open, its history, and what can happen next."""
        return await self._show(request, actor, claim_id)

    @get("/{claim_id:int}/pdf", name="billing_claims.pdf")
    async def pdf(self, actor: CurrentActor, claim_id: FromPath[int]) -> Response:
        """The claim as a PDF for the payer (records the payer as recipient)."""
        return _pdf(*await claim_documents.produce(actor, claim_id, "pdf"))

    @get("/{claim_id:int}/csv", name="billing_claims.csv")
    async def csv(self, actor: CurrentActor, claim_id: FromPath[int]) -> Response:
        """The claim's lines as CSV for the payer's system (records the payer as recipient)."""
        name, data = await claim_documents.produce(actor, claim_id, "csv")
        return Response(content=data, media_type="text/csv; charset=utf-8", headers={
            "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'attachment; filename="{name}"'})

    def _back(self, request: Request, claim_id: int) -> Redirect:
        return see_other(request.app.route_reverse("billing_claims.show", claim_id=claim_id))

    @post("/{claim_id:int}/sent", name="billing_claims.sent")
    async def sent(self, request: Request, actor: CurrentActor, claim_id: FromPath[int]) -> Template | Redirect:
        """The claim went to the payer."""
        try:
            await claims.mark_sent(actor, claim_id)
        except ValidationFailed as exc:
            return await self._show(request, actor, claim_id, 409, exc.errors)
        return self._back(request, claim_id)

    @post("/{claim_id:int}/payment", name="billing_claims.payment")
    async def payment(self, request: Request, actor: CurrentActor, claim_id: FromPath[int]) -> Template | Redirect:
        """The payer paid all or part of the claim: posted to the ledger against the claimed charges."""
        form = await read_form(request, claims.ClaimPaymentForm)
        try:
            await claims.record_payment(actor, claim_id, form)
        except ValidationFailed as exc:
            return await self._show(request, actor, claim_id, 422, exc.errors, payment=form)
        return self._back(request, claim_id)

    @post("/{claim_id:int}/reject", name="billing_claims.reject")
    async def reject(self, request: Request, actor: CurrentActor, claim_id: FromPath[int]) -> Template | Redirect:
        """The payer refused what is open: it moves back to the patients."""
        form = await read_form(request, claims.RejectForm)
        try:
            await claims.reject(actor, claim_id, form)
        except ValidationFailed as exc:
            return await self._show(request, actor, claim_id, 422, exc.errors, rejection=form)
        return self._back(request, claim_id)
