"""CSRF tokens masked afresh in every response, so that a compressed page never repeats a secret (BREACH).

Litestar's rule stays as it is (a signed token in a cookie, the same token in the `X-CSRFToken` header or the
`_csrf_token` field); what a page prints is `mask + (token XOR mask)` with a new random mask each time, so the
token's bytes never appear twice and gzip's length gives an attacker nothing to guess against. A request may send
the masked form or the plain cookie value (tests and scripts do).
"""

import secrets

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState


def mask(token: str) -> str:
    """The token under a fresh random mask, as hex: twice the token's length in bytes, four times in characters."""
    raw = token.encode("ascii")
    pad = secrets.token_bytes(len(raw))
    return (pad + _xor(raw, pad)).hex()


def _xor(data: bytes, pad: bytes) -> bytes:
    """Byte-wise XOR of two strings of one length, as one big-integer operation (a token is 128 bytes)."""
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(len(data), "big")


_HEX = frozenset("0123456789abcdef")


def unmask(value: str) -> str:
    """The token inside a masked value; a value that is not masked comes back as it was (and is then judged)."""
    try:
        data = bytes.fromhex(value)
    except ValueError:
        return value
    half = len(data) // 2
    if not half or len(data) % 2:
        return value
    text = _xor(data[half:], data[:half]).decode("latin-1")
    return text if text and _HEX.issuperset(text) else value


def _masking(app: ASGIApp) -> ASGIApp:
    async def masked_state(scope: Scope, receive: Receive, send: Send) -> None:
        state = ScopeState.from_scope(scope)
        token = getattr(state, "csrf_token", None)
        if isinstance(token, str) and token:
            state.csrf_token = mask(unmask(token))
        await app(scope, receive, send)

    return masked_state


class MaskedCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware that accepts a masked token and hands templates a freshly masked one."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app=_masking(app), config=config)

    def _csrf_tokens_match(self, request_csrf_token: str, cookie_csrf_token: str) -> bool:
        return super()._csrf_tokens_match(unmask(request_csrf_token), cookie_csrf_token)
