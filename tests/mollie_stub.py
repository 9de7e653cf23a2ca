"""A local HTTP server standing in for Mollie's payments API (v2): it checks the Bearer key, the JSON shape of a
payment creation (amount as a currency and a two-decimal string, description, redirect and webhook URLs) and
answers an Idempotency-Key it has seen with the payment it created then, as Mollie does."""

import json

from tests.stub_server import JsonHandler, StubServer

KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"


class MollieStub(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.payments: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.created: list[dict] = []
        self.refused: list[str] = []
        stub = self

        class Handler(JsonHandler):
            content_type = "application/hal+json"

            def _refuse(self, status: int, why: str) -> None:
                stub.refused.append(why)
                self._answer(status, {"status": status, "title": "Error", "detail": why})

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    self._refuse(401, "Missing authentication, or failed to authenticate")
                    return False
                return True

            def do_POST(self):
                raw = self._body()
                if self.path != "/v2/payments":
                    return self._refuse(404, f"no such resource {self.path}")
                if not self._authorised():
                    return
                if not self.headers.get("Content-Type", "").startswith("application/json"):
                    return self._refuse(415, "JSON body required")
                body = json.loads(raw)
                amount = body.get("amount", {})
                value = str(amount.get("value", ""))
                if (len(amount.get("currency", "")) != 3 or "." not in value or len(value.split(".")[1]) != 2
                        or not body.get("description") or not body.get("redirectUrl")):
                    return self._refuse(422, f"amount, description and redirectUrl required: {body}")
                key = self.headers.get("Idempotency-Key", "")
                if key and key in stub.by_key:
                    return self._answer(201, stub.payments[stub.by_key[key]])
                payment_id = f"tr_{len(stub.payments) + 1:010d}"
                payment = {"resource": "payment", "id": payment_id, "mode": "test", "status": "open",
                           "amount": amount, "description": body["description"], "metadata": body.get("metadata"),
                           "webhookUrl": body.get("webhookUrl"), "redirectUrl": body["redirectUrl"],
                           "_links": {"checkout": {"href": f"https://www.mollie.com/checkout/select-method/{payment_id}",
                                                   "type": "text/html"}}}
                stub.payments[payment_id] = payment
                stub.created.append(body)
                if key:
                    stub.by_key[key] = payment_id
                self._answer(201, payment)

            def do_GET(self):
                if not self.path.startswith("/v2/payments/"):
                    return self._refuse(404, f"no such resource {self.path}")
                if not self._authorised():
                    return
                payment = stub.payments.get(self.path.rsplit("/", 1)[1])
                if payment is None:
                    return self._refuse(404, "No payment exists with token")
                self._answer(200, payment)

        self.serve(Handler)
