"""Online payment of an invoice through Mollie's REST API (v2 payments), off until an API key is configured.

Starting a payment stores a row with a fresh idempotency key first, then creates the payment at Mollie with that
key (a retried request creates it once) and keeps the checkout link the patient pays at. Mollie's webhook posts
only the payment's id; the portal never trusts the call and fetches the payment from Mollie itself. A paid
payment is booked once as an online payment on the ledger, applied to its invoice (the rest is credit), however
often the webhook comes. tests/test_billing_online.py runs this against a local stand-in of the API.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import httpx

from portal import audit, display, links
from portal.billing import accounts, invoices, ledger, payments
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.i18n import _, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import OnlinePayment

TIMEOUT = httpx.Timeout(15.0)
STATUSES = {"created": lazy_gettext("Being created"), "open": lazy_gettext("Waiting for payment"),
            "pending": lazy_gettext("Pending"), "authorized": lazy_gettext("Authorised"), "paid": lazy_gettext("Paid"),
            "failed": lazy_gettext("Failed"), "canceled": lazy_gettext("Cancelled"), "expired": lazy_gettext("Expired")}
display.register_labels("online_status", STATUSES)


class ProviderFailed(Exception):
    pass


@dataclass(frozen=True)
class OnlineForm:
    online_amount: str = ""


class MollieGateway:
    """POST /v2/payments (Bearer key, Idempotency-Key header) and GET /v2/payments/{id}."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.settings, self.client = settings, client

    @property
    def configured(self) -> bool:
        return bool(self.settings.mollie_api_key)

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        url = f"{self.settings.mollie_api_url.rstrip('/')}/v2/{path}"
        headers = {"Authorization": f"Bearer {self.settings.mollie_api_key}", **kwargs.pop("headers", {})}
        try:
            if self.client is not None:
                response = await self.client.request(method, url, headers=headers, **kwargs)
            else:
                async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                    response = await client.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderFailed(f"Mollie unreachable: {exc}") from exc
        if response.status_code not in (200, 201):
            raise ProviderFailed(f"Mollie answered {response.status_code}: {response.text[:300]}")
        return response.json()

    async def create(self, amount: Decimal, currency: str, description: str, redirect_url: str, webhook_url: str,
                     metadata: dict, idempotency_key: str) -> dict:
        return await self._call("POST", "payments", headers={"Idempotency-Key": idempotency_key}, json={
            "amount": {"currency": currency, "value": f"{amount:.2f}"}, "description": description[:255],
            "redirectUrl": redirect_url, "webhookUrl": webhook_url, "metadata": metadata})

    async def fetch(self, payment_id: str) -> dict:
        return await self._call("GET", f"payments/{payment_id}")


def status(settings: Settings) -> dict:
    gateway = MollieGateway(settings)
    return {"on": gateway.configured, "provider": "Mollie"}


async def start(actor: Actor, settings: Settings, patient_id: int, invoice_id: int, form: OnlineForm,
                client: httpx.AsyncClient | None = None) -> str:
    """Create a checkout for (part of) what is open on an invoice; returns the link the patient pays at."""
    require(actor, Permission.HANDLE_PAYMENTS)
    invoice = await invoices.get(actor, patient_id, invoice_id, audited=False)
    gateway = MollieGateway(settings, client)
    open_amount = invoice["total"] - invoice["paid"]
    try:
        amount = Decimal((form.online_amount or "").strip().replace(",", ".") or str(open_amount))
    except InvalidOperation:
        amount = None
    if not gateway.configured:
        raise ValidationFailed({"online_amount": _("Online payment is off: the clinic has not set it up.")})
    if (invoice["kind"] != "invoice" or invoice["credited_by"] or amount is None or not amount.is_finite()
            or amount <= 0 or amount > open_amount or amount != amount.quantize(Decimal("0.01"))):
        raise ValidationFailed({"online_amount": _("Enter an amount more than zero and at most what is open.")})
    key = f"chairside-{actor.clinic_id}-{invoice_id}-{uuid.uuid4().hex}"
    async with transaction():
        row_id = (await OnlinePayment.insert(OnlinePayment(
            clinic=actor.clinic_id, account=invoice["account"], patient=patient_id, invoice=invoice_id, amount=amount,
            currency=invoice["currency"], idempotency_key=key, created_by=actor.id,
            created_at=datetime.now(timezone.utc), updated_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "online_payment.started", patient_id=patient_id, object_type="invoice",
                           object_id=invoice_id, detail={"amount": str(amount)})
    created = await gateway.create(amount, invoice["currency"], f"Invoice {invoice['number']}",
                                   links.absolute_url(settings, "/"), links.absolute_url(settings, "/webhooks/mollie"),
                                   {"invoice": invoice["number"], "payment": row_id}, key)
    checkout = created.get("_links", {}).get("checkout", {}).get("href", "")
    await OnlinePayment.update({OnlinePayment.provider_id: str(created["id"]), OnlinePayment.status: created.get(
        "status", "open"), OnlinePayment.checkout_url: checkout[:500], OnlinePayment.updated_at: datetime.now(
        timezone.utc)}).where(OnlinePayment.id == row_id)
    return checkout


async def for_invoice(invoice_id: int) -> list[dict]:
    return await OnlinePayment.select().where(OnlinePayment.invoice == invoice_id).order_by(OnlinePayment.id)


async def reconcile(settings: Settings, provider_id: str, client: httpx.AsyncClient | None = None) -> str:
    """Mollie says a payment changed: fetch it, record its status, and book it once when paid."""
    row = await OnlinePayment.select().where(OnlinePayment.provider_id == provider_id[:60]).first()
    if row is None:
        return "unknown"
    payment = await MollieGateway(settings, client).fetch(provider_id)
    state = str(payment.get("status", ""))[:20]
    system = Actor(kind="system", id=0, clinic_id=row["clinic"], name="Online payment (Mollie)")
    async with transaction():
        await accounts.lock(row["account"])
        current = await OnlinePayment.select().where(OnlinePayment.id == row["id"]).first()
        values = {OnlinePayment.status: state, OnlinePayment.updated_at: datetime.now(timezone.utc)}
        if state == "paid" and current["entry"] is None:
            amount = Decimal(str(payment["amount"]["value"]))
            entry_id = await ledger.append(system, row["account"], row["patient"], "payment", -amount,
                                           method="online", reference=provider_id[:100])
            open_on = {i["id"]: i["open"] for i in await payments.open_invoices(row["account"])}
            if row["invoice"] in open_on:
                await payments.allocate(system, entry_id, row["invoice"], min(amount, open_on[row["invoice"]]))
            await payments.apply_credit(system, row["account"])
            values[OnlinePayment.entry] = entry_id
        await OnlinePayment.update(values).where(OnlinePayment.id == row["id"])
    return state
