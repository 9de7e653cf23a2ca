"""uvicorn's HTTP/1.1 protocol with Nagle's algorithm switched off on every connection it accepts.

Why: with `--workers N` uvicorn rebuilds the listening socket in each worker from its file descriptor, and that
socket reports protocol 0 instead of IPPROTO_TCP. asyncio sets TCP_NODELAY only on sockets whose protocol is
IPPROTO_TCP, so the accepted connections keep Nagle's algorithm on. uvicorn writes a response's head and body in
two writes; the body then waits for the client's delayed ACK of the head: about 40 ms on every small response
(measured: `/healthz` p50 44.0 ms at one connection with two workers, 0.6 ms with one; a bare ASGI hello the same).
Setting TCP_NODELAY ourselves makes `portal serve --server uvicorn` immune whatever the worker count.
"""

import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def no_delay(transport) -> bool:
    """Switch Nagle off on the transport's TCP socket; whether it is now off (False for a Unix socket)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        return False
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)
