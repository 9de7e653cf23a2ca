"""Online payment of an invoice through Mollie's API, against a local stand-in (tests/mollie_stub.py): off until
configured and shown as off; a partial payment link; the webhook's id fetched, never trusted; booked once."""

from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from portal.app import create_app
from portal.billing import invoices, online
from portal.tables import LedgerEntry, OnlinePayment
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mollie_stub import KEY, MollieStub


@pytest.fixture
def mollie():
    stub = MollieStub().start()
    yield stub
    stub.stop()


@pytest.fixture
async def paying_client(settings, mollie):
    app = create_app(replace(settings, mollie_api_url=mollie.url, mollie_api_key=KEY), manage_pool=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_online_payment_is_off_until_configured_and_says_so(client, clinic):
    patient = await factories.make_patient(clinic)
    invoice_id = await factories.make_invoice(clinic, patient)
    await sign_in_as(client, clinic)
    page = await client.get(f"/patients/{patient}/account/invoices/{invoice_id}")
    assert 'id="online-off"' in page.text and "Mollie is not set up" in page.text
    refused = await post_form(client, f"/patients/{patient}/account/invoices/{invoice_id}/online")
    assert refused.status_code == 422 and not await OnlinePayment.exists()


async def test_a_partial_online_payment_is_booked_once_when_mollie_says_paid(paying_client, clinic, mollie):
    patient = await factories.make_patient(clinic)
    invoice_id = await factories.make_invoice(clinic, patient)  # 55.00
    await sign_in_as(paying_client, clinic)
    too_much = await post_form(paying_client, f"/patients/{patient}/account/invoices/{invoice_id}/online",
                               {"online_amount": "60.00"})
    assert too_much.status_code == 422 and 'value="60.00"' in too_much.text and not mollie.created
    made = await post_form(paying_client, f"/patients/{patient}/account/invoices/{invoice_id}/online",
                           {"online_amount": "20.00"})
    assert made.status_code == 303
    body = mollie.created[0]
    assert body["amount"] == {"currency": "EUR", "value": "20.00"} and body["webhookUrl"].endswith("/webhooks/mollie")
    page = await paying_client.get(made.headers["location"])
    assert "https://www.mollie.com/checkout/select-method/tr_0000000001" in page.text
    # A forged or early call changes nothing: the payment is fetched from Mollie, still open.
    assert (await paying_client.post("/webhooks/mollie", data={"id": "tr_0000000001"})).status_code == 200
    assert not await LedgerEntry.exists().where(LedgerEntry.method == "online")
    mollie.payments["tr_0000000001"]["status"] = "paid"
    for _ in range(3):  # Mollie retries; the portal books it once
        assert (await paying_client.post("/webhooks/mollie", data={"id": "tr_0000000001"})).status_code == 200
    entries = await LedgerEntry.select().where(LedgerEntry.method == "online")
    assert [(e["amount"], e["reference"]) for e in entries] == [(Decimal("-20.00"), "tr_0000000001")]
    assert (await invoices.get(clinic, patient, invoice_id))["paid"] == Decimal("20.00")
    assert (await OnlinePayment.select(OnlinePayment.status).first())["status"] == "paid"
    unknown = await paying_client.post("/webhooks/mollie", data={"id": "tr_9999999999"})
    assert unknown.status_code == 200 and await LedgerEntry.count().where(LedgerEntry.method == "online") == 1


async def test_the_same_idempotency_key_creates_one_payment_at_mollie(settings, mollie):
    gateway = online.MollieGateway(replace(settings, mollie_api_url=mollie.url, mollie_api_key=KEY))
    first = await gateway.create(Decimal("10"), "EUR", "Invoice 1", "https://x/", "https://x/w", {}, "key-1")
    again = await gateway.create(Decimal("10"), "EUR", "Invoice 1", "https://x/", "https://x/w", {}, "key-1")
    assert first["id"] == again["id"] and len(mollie.payments) == 1
    with pytest.raises(online.ProviderFailed, match="401"):
        await online.MollieGateway(replace(settings, mollie_api_url=mollie.url, mollie_api_key="test_wrong")).fetch(
            first["id"])
