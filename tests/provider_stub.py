"""A local HTTP server standing in for the SMS gateway (Twilio-style) and the WhatsApp Cloud API. It checks
each request the way the providers document them and answers like they do, so the adapters are tested over
real HTTP: a wrong path, method, auth, content type or field is refused as the provider would refuse it."""

import base64
import json
from urllib.parse import parse_qs

from tests.stub_server import JsonHandler, StubServer

SID, TOKEN, SMS_FROM = "AC0123456789abcdef0123456789abcdef", "sms-secret-token", "+3197010000000"
CLINIC_SMS_NUMBER = "+3197010000001"  # a second number of the account, given to one clinic as its own
ACCOUNT_NUMBERS = {SMS_FROM, CLINIC_SMS_NUMBER}  # Twilio refuses a From that is not the account's
WA_TOKEN, WA_NUMBER_ID, WA_VERSION = "wa-bearer-token", "109876543210", "v21.0"
# A clinic's own accounts (saved in the portal per clinic): a second Twilio account with its own number, and a
# second WhatsApp business number reachable only with its own token.
OWN_SID, OWN_TOKEN, OWN_NUMBER = "AC" + "f" * 32, "own-clinic-token", "+3197010000099"
OWN_WA_TOKEN, OWN_WA_NUMBER_ID = "own-wa-token", "109876543299"
ACCOUNTS = {SID: (TOKEN, ACCOUNT_NUMBERS), OWN_SID: (OWN_TOKEN, {OWN_NUMBER})}
WA_NUMBERS = {WA_NUMBER_ID: WA_TOKEN, OWN_WA_NUMBER_ID: OWN_WA_TOKEN}


class ProviderStub(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.sms: list[dict] = []
        self.sms_accounts: list[str] = []  # the account each text was sent through
        self.whatsapp_numbers: list[str] = []  # the business number each WhatsApp message was sent from
        self.whatsapp: list[dict] = []
        self.refused: list[str] = []
        self.recordings: dict[str, bytes] = {}  # RecordingSid -> audio the account holds
        self.recording_accounts: dict[str, str] = {}  # RecordingSid -> the account holding it (default: SID)
        self.deleted_recordings: list[str] = []
        stub = self

        class Handler(JsonHandler):
            def _refuse(self, status: int, why: str) -> None:
                stub.refused.append(why)
                self._answer(status, {"error": why})

            def _account_ok(self, account: str) -> bool:
                expected = "Basic " + base64.b64encode(f"{account}:{ACCOUNTS[account][0]}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._refuse(401, "authenticate")
                    return False
                return True

            def _recording(self, suffix: str) -> tuple[str, str] | None:
                """(account, RecordingSid) of a path under one of the accounts' Recordings."""
                for account in ACCOUNTS:
                    prefix = f"/2010-04-01/Accounts/{account}/Recordings/"
                    if self.path.startswith(prefix) and self.path.endswith(suffix):
                        return account, self.path[len(prefix):-len(suffix)]
                return None

            def do_GET(self):  # Twilio: GET …/Recordings/{RecordingSid}.mp3 is the audio
                found = self._recording(".mp3")
                account, sid = found or ("", "")
                if found is None or sid not in stub.recordings or stub.recording_accounts.get(sid, SID) != account:
                    return self._refuse(404, f"no such recording {self.path}")
                if not self._account_ok(account):
                    return
                data = stub.recordings[sid]
                self.send_response(200)
                self.send_header("Content-Type", "audio/mpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_DELETE(self):  # Twilio: DELETE …/Recordings/{RecordingSid}.json answers 204
                found = self._recording(".json")
                if found is None:
                    return self._refuse(404, f"no such resource {self.path}")
                account, sid = found
                if not self._account_ok(account):
                    return
                if sid in stub.recordings and stub.recording_accounts.get(sid, SID) != account:
                    return self._refuse(404, f"no such recording {self.path}")
                stub.recordings.pop(sid, None)
                stub.deleted_recordings.append(sid)
                self.send_response(204)
                self.end_headers()

            def do_POST(self):
                raw = self._body()
                for sid in ACCOUNTS:
                    if self.path == f"/2010-04-01/Accounts/{sid}/Messages.json":
                        return self._sms(raw, sid)
                for number_id in WA_NUMBERS:
                    if self.path == f"/{WA_VERSION}/{number_id}/messages":
                        return self._whatsapp(raw, number_id)
                self._refuse(404, f"no such resource {self.path}")

            def _sms(self, raw: bytes, sid: str) -> None:
                token, numbers = ACCOUNTS[sid]
                expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._refuse(401, "authenticate")
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    return self._refuse(400, "form-encoded body required")
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if (not form.get("To", "").startswith("+") or form.get("From") not in numbers
                        or not form.get("Body")):
                    return self._refuse(400, f"To (E.164), From and Body required: {form}")
                stub.sms.append(form)
                stub.sms_accounts.append(sid)
                self._answer(201, {"sid": f"SM{len(stub.sms):032d}", "status": "queued", "to": form["To"]})

            def _whatsapp(self, raw: bytes, number_id: str) -> None:
                if self.headers.get("Authorization") != f"Bearer {WA_NUMBERS[number_id]}":
                    return self._refuse(401, "OAuthException")
                if not self.headers.get("Content-Type", "").startswith("application/json"):
                    return self._refuse(400, "JSON body required")
                body = json.loads(raw)
                ok = body.get("messaging_product") == "whatsapp" and str(body.get("to", "")).isdigit()
                if body.get("type") == "template":
                    template = body.get("template") or {}
                    ok = ok and template.get("name") and (template.get("language") or {}).get("code")
                elif body.get("type") == "text":
                    ok = ok and (body.get("text") or {}).get("body")
                else:
                    ok = False
                if not ok:
                    return self._refuse(400, f"invalid parameter: {body}")
                stub.whatsapp.append(body)
                stub.whatsapp_numbers.append(number_id)
                self._answer(200, {"messaging_product": "whatsapp",
                                   "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                   "messages": [{"id": f"wamid.{len(stub.whatsapp)}"}]})

        self.serve(Handler)
