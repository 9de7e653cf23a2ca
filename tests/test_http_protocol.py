"""Why `portal serve --server uvicorn --workers N` answered every small response about 44 ms late, and the fix: the
listening socket each worker rebuilds from its file descriptor reports protocol 0, asyncio then leaves Nagle's
algorithm on for the connections it accepts, and the body waits for the client's delayed ACK of the head."""

import asyncio
import socket

from portal.operations import http_protocol


async def test_a_rebuilt_listening_socket_leaves_nagle_on_and_the_portal_protocol_turns_it_off():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    rebuilt = socket.fromfd(listener.fileno(), socket.AF_INET, socket.SOCK_STREAM)  # as uvicorn's workers get it
    assert rebuilt.proto == 0
    seen: list = []
    accepted = asyncio.Event()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))  # what asyncio left
            seen.append(http_protocol.no_delay(transport))  # what the portal's protocol does first
            accepted.set()

    server = await asyncio.get_running_loop().create_server(Probe, sock=rebuilt)
    try:
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        await asyncio.wait_for(accepted.wait(), 5)
        writer.close()
    finally:
        server.close()
        listener.close()
    assert seen == [0, True]

