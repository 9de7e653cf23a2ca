"""A local HTTP server standing in for Meta's Graph API: the OAuth code exchange, the person's Pages, the Page's
app subscription and lead-ads leads. It checks paths, tokens and parameters the way Meta does (a wrong or reused
code, a user token where a Page token belongs, a missing subscribed_fields are refused with an OAuthException)."""

from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.stub_server import JsonHandler, StubServer

APP_ID, APP_SECRET, VERSION = "1234567890", "meta-app-secret", "v21.0"
USER_ID, USER_TOKEN = "10157000000000001", "EAAuser-token"
PAGE_ID, PAGE_NAME, PAGE_TOKEN = "100200300400500", "Tandarts Centrum", "EAApage-token"
OTHER_PAGE = {"id": "100200300400999", "name": "Second Page", "access_token": "EAApage-token-2"}


class MetaStub(StubServer):
    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, str] = {}  # code -> the redirect_uri it was issued for (single use)
        self.pages = [{"id": PAGE_ID, "name": PAGE_NAME, "access_token": PAGE_TOKEN, "category": "Dentist"}]
        self.leads: dict[str, dict] = {}  # leadgen id -> (page id, the lead object)
        self.subscribed: dict[str, str] = {}  # page id -> subscribed_fields
        self.fetched: list[str] = []
        self.insights: dict[str, dict[str, list[dict]]] = {}  # page id -> metric -> [{"value", "end_time"}]
        self.insight_queries: list[dict[str, str]] = []
        self.refused: list[str] = []
        stub = self

        class Handler(JsonHandler):
            def _refuse(self, why: str, status: int = 400) -> None:
                stub.refused.append(why)
                self._answer(status, {"error": {"message": why, "type": "OAuthException", "code": 190}})

            def _split(self) -> tuple[list[str], dict[str, str]]:
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                return parts, {k: v[0] for k, v in parse_qs(url.query).items()}

            def _page_token(self, page_id: str, token: str) -> bool:
                return any(p["id"] == page_id and p["access_token"] == token for p in stub.pages)

            def do_GET(self):
                parts, q = self._split()
                if not parts or parts[0] != VERSION:
                    return self._refuse(f"unknown version {self.path}")
                rest = parts[1:]
                if rest == ["dialog", "oauth"]:  # the person approves at once and is sent back with a code
                    if q.get("client_id") != APP_ID or not q.get("redirect_uri") or not q.get("state"):
                        return self._refuse("Invalid app id, redirect_uri or state")
                    code = stub.grant(q["redirect_uri"], f"AQD-dialog-{len(stub.codes) + 1}")
                    self.send_response(302)
                    back = urlencode({"code": code, "state": q["state"]})
                    self.send_header("Location", f"{q['redirect_uri']}?{back}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if rest == ["oauth", "access_token"]:
                    code = q.get("code", "")
                    if q.get("client_id") != APP_ID or q.get("client_secret") != APP_SECRET:
                        return self._refuse("Error validating client secret")
                    if stub.codes.pop(code, None) != q.get("redirect_uri") or not q.get("redirect_uri"):
                        return self._refuse("Invalid verification code format or redirect_uri mismatch")
                    return self._answer(200, {"access_token": USER_TOKEN, "token_type": "bearer",
                                              "expires_in": 5183944})
                if rest == ["me"]:
                    if q.get("access_token") != USER_TOKEN:
                        return self._refuse("Invalid OAuth access token", 401)
                    return self._answer(200, {"id": USER_ID, "name": "Olga Owner"})
                if rest == ["me", "accounts"]:
                    if q.get("access_token") != USER_TOKEN:
                        return self._refuse("Invalid OAuth access token", 401)
                    return self._answer(200, {"data": stub.pages, "paging": {}})
                if len(rest) == 2 and rest[1] == "insights":
                    return self._insights(rest[0], q)
                if len(rest) == 1 and rest[0] in stub.leads:
                    page_id, lead = stub.leads[rest[0]]
                    if not self._page_token(page_id, q.get("access_token", "")):
                        return self._refuse("A Page access token of the lead's Page is required", 403)
                    stub.fetched.append(rest[0])
                    fields = q.get("fields", "id,created_time,field_data").split(",")
                    return self._answer(200, {k: v for k, v in lead.items() if k in fields})
                self._refuse(f"Unsupported get request {self.path}")

            def _insights(self, page_id: str, q: dict[str, str]) -> None:
                """GET /{page-id}/insights: each metric only for the periods Meta offers it, a Page token required,
                since/until as unix times; values are those whose end_time falls in (since, until]."""
                if not self._page_token(page_id, q.get("access_token", "")):
                    return self._refuse("(#190) A Page access token is required to request this resource", 403)
                periods = {"page_impressions_unique": {"day", "week", "days_28"}, "page_follows": {"day"}}
                metrics, period = q.get("metric", "").split(","), q.get("period", "")
                if not all(m in periods for m in metrics):
                    return self._refuse("(#100) The value must be a valid insights metric")
                if not all(period in periods[m] for m in metrics):
                    return self._refuse(f"(#100) period {period!r} is not available for {metrics}")
                if not q.get("since", "").isdigit() or not q.get("until", "").isdigit():
                    return self._refuse("(#100) since and until must be unix times")
                stub.insight_queries.append(q)
                since, until = int(q["since"]), int(q["until"])
                data = []
                for metric in metrics:
                    values = [v for v in stub.insights.get(page_id, {}).get(metric, [])
                              if since < datetime.strptime(v["end_time"], "%Y-%m-%dT%H:%M:%S%z").timestamp() <= until]
                    data.append({"name": metric, "period": period, "values": values, "title": metric,
                                 "description": metric, "id": f"{page_id}/insights/{metric}/{period}"})
                return self._answer(200, {"data": data, "paging": {}})

            def _subscription(self, q: dict[str, str], parts: list[str]) -> str | None:
                if len(parts) != 3 or parts[0] != VERSION or parts[2] != "subscribed_apps":
                    self._refuse(f"Unsupported request {self.path}")
                    return None
                if not self._page_token(parts[1], q.get("access_token", "")):
                    self._refuse("(#210) A page access token is required", 403)
                    return None
                return parts[1]

            def do_POST(self):
                parts, _ = self._split()
                raw = self._body()
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    return self._refuse("form-encoded body required")
                form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                page_id = self._subscription(form, parts)
                if page_id is None:
                    return
                if "leadgen" not in form.get("subscribed_fields", "").split(","):
                    return self._refuse("(#100) subscribed_fields must include leadgen")
                stub.subscribed[page_id] = form["subscribed_fields"]
                self._answer(200, {"success": True})

            def do_DELETE(self):
                parts, q = self._split()
                page_id = self._subscription(q, parts)
                if page_id is None:
                    return
                stub.subscribed.pop(page_id, None)
                self._answer(200, {"success": True})

        self.serve(Handler)

    def grant(self, redirect_uri: str, code: str = "AQD-code-1") -> str:
        """The person approved the dialog: Meta sends them back with this code."""
        self.codes[code] = redirect_uri
        return code

    def add_lead(self, leadgen_id: str, answers: dict[str, str], platform: str = "fb", page_id: str = PAGE_ID):
        self.leads[leadgen_id] = (page_id, {
            "id": leadgen_id, "created_time": "2026-11-30T08:00:00+0000", "form_id": "555", "platform": platform,
            "field_data": [{"name": k, "values": [v]} for k, v in answers.items()]})

    def add_insight(self, metric: str, end_time: str, value: int, page_id: str = PAGE_ID) -> None:
        """One value as Meta reports it: the count for the period ending at `end_time` (Pacific midnight in UTC)."""
        self.insights.setdefault(page_id, {}).setdefault(metric, []).append({"value": value, "end_time": end_time})
