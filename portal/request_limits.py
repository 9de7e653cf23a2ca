"""What one request may cost: body bytes and form fields, refused before anything (CSRF included) parses the body.

Every unsafe request to a routed handler is held to the caps of its route: sign-in-free routes (sign-in, password
links, the privacy centre's link form, unsubscribe, webhooks) get the strictest, signed-in pages a little more;
upload routes declare their own `request_max_body_size` and keep Litestar's multipart part limit. The body is read
into memory only up to the cap, its fields are counted by their separators (no parsing), and then handed on.
"""

from dataclasses import dataclass

from litestar.exceptions import ClientException, HTTPException
from litestar.handlers.http_handlers import HTTPRouteHandler

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SIGNED_IN_GUARDS = frozenset({"signed_in", "patient_signed_in"})
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


@dataclass(frozen=True)
class Limits:
    body_bytes: int
    fields: int


SIGNED_IN = Limits(body_bytes=256 * 1024, fields=1000)  # the largest form (weekly hours for every provider) ~200
PUBLIC = Limits(body_bytes=32 * 1024, fields=50)  # the longest public form has a handful of fields
WEBHOOK = Limits(body_bytes=1024 * 1024, fields=50)  # signed JSON from a provider: batches of messages
# A mail forwarded by the provider's route carries its attachments: a large body, but no more fields than PUBLIC.
INBOUND_MAIL = Limits(body_bytes=26 * 1024 * 1024, fields=50)
OPT_KEY = "request_limits"  # a handler or controller may name its own Limits in `opt`
DEFAULT_MAX_BODY = SIGNED_IN.body_bytes  # the app's request_max_body_size: what uploads raise explicitly


class TooLarge(HTTPException):
    status_code = 413


def limits_for(handler: HTTPRouteHandler) -> Limits | None:
    """The caps of a route; None for an upload route, which sets its own larger request_max_body_size."""
    if isinstance(handler.opt.get(OPT_KEY), Limits):
        return handler.opt[OPT_KEY]
    max_body = handler.resolve_request_max_body_size()
    if max_body is None or max_body > DEFAULT_MAX_BODY:
        return None
    guards = {getattr(guard, "__name__", "") for guard in handler.resolve_guards()}
    return SIGNED_IN if guards & SIGNED_IN_GUARDS else PUBLIC


def count_fields(content_type: bytes, body: bytes) -> int:
    """Fields in a form body, counted by separators: `&` for URL-encoded, the boundary for multipart."""
    kind = content_type.lower()
    if kind.startswith(FORM_TYPES[0]):
        return body.count(b"&") + 1 if body else 0
    if kind.startswith(FORM_TYPES[1]):
        boundary = content_type.partition(b"boundary=")[2].split(b";")[0].strip(b'"')
        return max(body.count(b"--" + boundary) - 1, 0) if boundary else 0
    return 0


def _header(scope, name: bytes) -> bytes:
    return next((value for key, value in scope["headers"] if key.lower() == name), b"")


def request_limits_middleware(app):
    """Litestar middleware (first in the list, so outside sessions and CSRF): refuse over-cap bodies early."""
    cache: dict[int, Limits | None] = {}

    async def middleware(scope, receive, send):
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await app(scope, receive, send)
            return
        handler = scope["route_handler"]
        if id(handler) not in cache:
            cache[id(handler)] = limits_for(handler)
        limits = cache[id(handler)]
        if limits is None:
            await app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limits.body_bytes:
            raise TooLarge(detail=f"body of {int(declared)} bytes over the cap of {limits.body_bytes}")
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.body_bytes:
                raise TooLarge(detail=f"body over the cap of {limits.body_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fields = count_fields(_header(scope, b"content-type"), body)
        if fields > limits.fields:
            raise ClientException(detail=f"{fields} form fields over the cap of {limits.fields}")
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return middleware
