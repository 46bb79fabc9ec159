"""A client's idle connection is still the server's to answer on: the API keeps idle keep-alive
connections longer than clients keep theirs (api.app.KEEP_ALIVE_SECONDS), so a request sent
into a connection left idle is answered, not lost to a connection the server was closing."""

from __future__ import annotations

import asyncio

from api.app import KEEP_ALIVE_SECONDS

# Longer than uvicorn's own default (5 s) and httpx's (5 s): the idle gap that lost requests.
IDLE = 6.0


async def _get_healthz(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return head.split(b"\r\n", 1)[0]


async def test_an_idle_connection_is_answered_on_after_clients_give_up_theirs(stack):
    assert KEEP_ALIVE_SECONDS > 60  # above the usual proxies' and load balancers' idle limits
    host, port = stack.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        assert await _get_healthz(reader, writer) == b"HTTP/1.1 200 OK"
        await asyncio.sleep(IDLE)
        # The same connection: a server that had closed it gives EOF here (IncompleteReadError).
        assert await _get_healthz(reader, writer) == b"HTTP/1.1 200 OK"
    finally:
        writer.close()
