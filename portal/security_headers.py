"""Strict headers on every response: CSP without inline script, no framing, no caching of personal data."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)



def policy_sending_forms_to(origin: str) -> str:
    """The policy for a page one of whose forms is answered with a redirect to another site (Meta's OAuth dialog):
    browsers check form-action against every redirect of a submission too."""
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")


_COMMON = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_STATIC_CACHE = [(b"cache-control", b"public, max-age=3600")]
# Pages answer both full loads and htmx fragments, and may show personal data: never store them.
_PAGE_CACHE = [(b"cache-control", b"no-store"), (b"vary", b"HX-Request, Cookie")]


def security_headers_middleware(app, https: bool = False):
    hsts = [(b"strict-transport-security", b"max-age=31536000; includeSubDomains")] if https else []

    async def middleware(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = _COMMON + hsts + (_STATIC_CACHE if is_static else _PAGE_CACHE)
                message["headers"] = list(message.get("headers", [])) + [
                    (name, value) for name, value in extra if name not in names]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
