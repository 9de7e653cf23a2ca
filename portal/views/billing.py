"""The patient account: ledger, balance and aging, payments, invoices (PDF, mail, credit notes), statements."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.billing import (
    accounts,
    claims,
    coverage,
    documents,
    instalments,
    invoices,
    ledger,
    online,
    overview,
    payments,
)
from portal.errors import ValidationFailed
from portal.forms import whole_number
from portal.i18n import _
from portal.permissions import Permission
from portal.views.guards import CurrentActor, provide_actor, requires, signed_in
from portal.views.pages import read_form, render, see_other

CHOICES = {"methods": ledger.METHODS, "adjust_kinds": {k: ledger.KINDS[k] for k in ("adjustment", "write_off")}}


def _pdf(name: str, data: bytes) -> Response:
    return Response(content=data, media_type="application/pdf", headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'attachment; filename="{name}"'})


def _with_payer_choices(page: dict) -> dict:
    return {**page, "payer_choices": {"": _("Choose…"), **{str(p["id"]): p["name"] for p in page["payers"]}}}


class BillingController(Controller):
    path = "/patients/{patient_id:int}/account"
    guards = [signed_in, requires(Permission.HANDLE_PAYMENTS)]
    dependencies = {"actor": provide_actor}

    async def _page(self, request: Request, actor, patient_id: int, status: int = 200, errors: dict | None = None,
                    everything: bool = False, **forms) -> Template:
        return render(request, "billing/account.html", status=status, errors=errors or {},
                      payment=forms.get("payment") or payments.PaymentForm(),
                      adjustment=forms.get("adjustment") or payments.AdjustmentForm(),
                      refund=forms.get("refund") or payments.RefundForm(), guarantor=forms.get("guarantor", ""),
                      split=forms.get("split") or {}, plan_form=forms.get("plan_form") or instalments.PlanForm(),
                      coverage_form=forms.get("coverage_form") or coverage.CoverageForm(),
                      **_with_payer_choices(await overview.account_overview(actor, patient_id, everything)),
                      **CHOICES)

    @get("/", name="billing.account")
    async def show(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   all: FromQuery[str] = "") -> Template:
        """The account: balance, aging, ledger (newest 50, or all), invoices, and the payment and invoice forms."""
        return await self._page(request, actor, patient_id, everything=all == "1")

    def _back(self, request: Request, patient_id: int) -> Redirect:
        return see_other(request.app.route_reverse("billing.account", patient_id=patient_id))

    @post("/payments", name="billing.pay")
    async def pay(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Take a payment, optionally split across open invoices."""
        form = await read_form(request, payments.PaymentForm)
        posted = await request.form()
        split = {number: str(value) for key, value in posted.items()
                 if key.startswith("split_") and (number := whole_number(key[6:])) is not None}
        try:
            await payments.take_payment(actor, patient_id, form, split)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, payment=form, split=split)
        return self._back(request, patient_id)

    @post("/invoices", name="billing.issue")
    async def issue(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Invoice every charge not yet on an invoice."""
        try:
            invoice_id = await invoices.issue(actor, patient_id)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors)
        return see_other(request.app.route_reverse("billing.invoice", patient_id=patient_id, invoice_id=invoice_id))

    async def _invoice(self, request: Request, actor, patient_id: int, invoice_id: int, status: int = 200,
                       errors: dict | None = None, form=None, notice: bool = False, online_form=None) -> Template:
        return render(request, "billing/invoice.html", status=status,
                      invoice=await invoices.get(actor, patient_id, invoice_id), patient_id=patient_id,
                      form=form or invoices.CreditForm(), errors=errors or {}, notice=notice,
                      online_form=online_form or online.OnlineForm(),
                      online_status=online.status(request.app.state.settings),
                      online_payments=await online.for_invoice(invoice_id))

    @get("/invoices/{invoice_id:int}", name="billing.invoice")
    async def invoice(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                      invoice_id: FromPath[int], mailed: FromQuery[str] = "") -> Template:
        """One invoice or credit note with its lines; download, mail, pay online, correct."""
        return await self._invoice(request, actor, patient_id, invoice_id, notice=mailed == "1")

    @post("/invoices/{invoice_id:int}/online", name="billing.pay_online")
    async def pay_online(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                         invoice_id: FromPath[int]) -> Template | Redirect:
        """Create an online checkout (Mollie) for what is open on the invoice, or part of it."""
        form = await read_form(request, online.OnlineForm)
        try:
            await online.start(actor, request.app.state.settings, patient_id, invoice_id, form)
        except ValidationFailed as exc:
            return await self._invoice(request, actor, patient_id, invoice_id, 422, exc.errors, online_form=form)
        except online.ProviderFailed:
            return await self._invoice(request, actor, patient_id, invoice_id, 503, {
                "online_amount": _("The payment provider did not answer; try again in a minute.")},
                online_form=form)
        return see_other(request.app.route_reverse("billing.invoice", patient_id=patient_id, invoice_id=invoice_id))

    @get("/invoices/{invoice_id:int}/pdf", name="billing.invoice_pdf")
    async def invoice_pdf(self, actor: CurrentActor, patient_id: FromPath[int], invoice_id: FromPath[int]) -> Response:
        """The invoice as a PDF download."""
        return _pdf(*await documents.invoice_pdf(actor, patient_id, invoice_id))

    @post("/invoices/{invoice_id:int}/mail", name="billing.mail_invoice")
    async def mail(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                   invoice_id: FromPath[int]) -> Template | Redirect:
        """Send the invoice PDF to the account holder by mail."""
        try:
            await documents.mail_invoice(actor, patient_id, invoice_id)
        except ValidationFailed as exc:
            return await self._invoice(request, actor, patient_id, invoice_id, 422, exc.errors)
        url = request.app.route_reverse("billing.invoice", patient_id=patient_id, invoice_id=invoice_id)
        return see_other(f"{url}?mailed=1")

    @post("/invoices/{invoice_id:int}/credit", name="billing.credit", guards=[requires(Permission.ADJUST_LEDGER)])
    async def credit(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                     invoice_id: FromPath[int]) -> Template | Redirect:
        """Correct an issued invoice with a credit note."""
        form = await read_form(request, invoices.CreditForm)
        try:
            note_id = await invoices.credit(actor, patient_id, invoice_id, form)
        except ValidationFailed as exc:
            return await self._invoice(request, actor, patient_id, invoice_id, 422, exc.errors, form=form)
        return see_other(request.app.route_reverse("billing.invoice", patient_id=patient_id, invoice_id=note_id))

    @get("/statement", name="billing.statement")
    async def statement(self, actor: CurrentActor, patient_id: FromPath[int]) -> Response:
        """The statement of account as a PDF download."""
        return _pdf(*await documents.statement_pdf(actor, patient_id))

    @post("/adjustments", name="billing.adjust", guards=[requires(Permission.ADJUST_LEDGER)])
    async def adjust(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """The owner's adjustment or write-off, with its reason."""
        form = await read_form(request, payments.AdjustmentForm)
        try:
            await payments.adjust(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, adjustment=form)
        return self._back(request, patient_id)

    @post("/refunds", name="billing.refund", guards=[requires(Permission.ADJUST_LEDGER)])
    async def refund(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Pay unused credit back."""
        form = await read_form(request, payments.RefundForm)
        try:
            await payments.refund(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, refund=form)
        return self._back(request, patient_id)

    @post("/plans", name="billing.plan")
    async def plan(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Agree a payment plan: what is owed split into monthly instalments (replaces the plan in force)."""
        form = await read_form(request, instalments.PlanForm)
        try:
            await instalments.create_plan(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, plan_form=form)
        return see_other(request.app.route_reverse("billing.account", patient_id=patient_id) + "#plan-title")

    @post("/share", name="billing.share")
    async def share(self, request: Request, actor: CurrentActor, patient_id: FromPath[int]) -> Template | Redirect:
        """Bill this patient to another patient's (family) account from now on."""
        posted = await request.form()
        text = str(posted.get("guarantor", ""))
        try:
            await accounts.share_account(actor, patient_id, whole_number(text) or 0)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, guarantor=text)
        return self._back(request, patient_id)

    @post("/coverage", name="billing.coverage")
    async def add_coverage(self, request: Request, actor: CurrentActor,
                           patient_id: FromPath[int]) -> Template | Redirect:
        """Record the patient's cover by an insurer or fund (from the insurance card)."""
        form = await read_form(request, coverage.CoverageForm)
        try:
            await coverage.add_coverage(actor, patient_id, form)
        except ValidationFailed as exc:
            return await self._page(request, actor, patient_id, 422, exc.errors, coverage_form=form)
        return see_other(request.app.route_reverse("billing.account", patient_id=patient_id) + "#payers-title")

    @post("/coverage/{coverage_id:int}/end", name="billing.end_coverage")
    async def end_coverage(self, request: Request, actor: CurrentActor, patient_id: FromPath[int],
                           coverage_id: FromPath[int]) -> Redirect:
        """End a cover today (later charges get no payer share)."""
        await coverage.end_coverage(actor, patient_id, coverage_id, _today(actor))
        return see_other(request.app.route_reverse("billing.account", patient_id=patient_id) + "#payers-title")

    @post("/claims", name="billing.claim")
    async def draft_claim(self, request: Request, actor: CurrentActor,
                          patient_id: FromPath[int]) -> Template | Redirect:
        """Draft a claim of this account's open shares for one payer."""
        posted = await request.form()
        try:
            claim_id = await claims.draft(actor, claims.DraftForm(payer=str(posted.get("payer", ""))), patient_id)
        except ValidationFailed as exc:
            errors = {("claim_payer" if k == "payer" else k): v for k, v in exc.errors.items()}
            return await self._page(request, actor, patient_id, 422, errors)
        return see_other(request.app.route_reverse("billing_claims.show", claim_id=claim_id))


def _today(actor):
    return datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()


class OverdueController(Controller):
    path = "/billing/overdue"
    guards = [signed_in, requires(Permission.HANDLE_PAYMENTS)]
    dependencies = {"actor": provide_actor}

    @get("/", name="billing.overdue")
    async def show(self, request: Request, actor: CurrentActor) -> Template:
        """Every payment plan with an overdue instalment, oldest first, with what is overdue."""
        return render(request, "billing/overdue.html", **await instalments.overdue(actor))


class MollieWebhookController(Controller):
    path = "/webhooks/mollie"

    @post("/", name="mollie.webhook", exclude_from_csrf=True, status_code=200)
    async def receive(self, request: Request) -> Response:
        """Mollie posts a payment id; the payment itself is fetched from Mollie (the call is never trusted)."""
        posted = await request.form()
        payment_id = str(posted.get("id", ""))
        if not payment_id.startswith("tr_") or len(payment_id) > 60:
            return Response("unknown payment", status_code=200, media_type="text/plain")
        try:
            await online.reconcile(request.app.state.settings, payment_id)
        except online.ProviderFailed:
            return Response("provider unreachable", status_code=503, media_type="text/plain")
        return Response("ok", media_type="text/plain")
