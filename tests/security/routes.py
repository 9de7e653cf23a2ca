"""The app's own route table, so isolation and CSRF tests cover every new route without being edited."""

import re

from litestar import Litestar

PARAM = re.compile(r"\{(\w+):\w+\}")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def routes(app: Litestar) -> list[tuple[str, str, list[str]]]:
    """(method, path template, path parameter names) for every HTTP route except static files."""
    found = []
    for route in app.routes:
        if route.path.startswith("/static"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                found.append((method, route.path, PARAM.findall(route.path)))
    return found


def fill(path: str, ids: dict[str, int]) -> str:
    return PARAM.sub(lambda m: str(ids[m.group(1)]), path)


# Posted by providers, never by our pages: each checks the provider's signature instead of a session and a CSRF
# token, or (Mollie) takes only an id and reads the payment from the provider (tests/security/test_webhooks.py holds
# each one's malformed-body property).
WEBHOOKS = {"/webhooks/whatsapp", "/webhooks/sms", "/webhooks/mail", "/webhooks/voice", "/webhooks/voice/status",
            "/webhooks/voice/recording", "/webhooks/mollie",
            "/webhooks/meta", "/webhooks/meta/deletion"}

# The privacy centre is for patients: staff sign-in does not apply there, a patient session does.
PATIENT_PUBLIC = {"/privacy", "/privacy/schema", "/privacy/schema/about", "/privacy/link/{token:str}",
                  "/privacy/notice/{clinic_id:int}"}


def is_patient_route(path: str) -> bool:
    return path == "/privacy" or path.startswith("/privacy/")
