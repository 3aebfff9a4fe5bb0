"""A TCP proxy in front of a real server that fails the link on demand.

A real node cannot be told to refuse connections for a while, to go silent on an open
connection, to answer a second late, or to drop every other connection, so the node stays
real and the proxy in front of it does these things to the bytes:

- `refuse()`: stop listening (and drop open connections); connects get ECONNREFUSED.
  `listen()` takes the same port again.
- `hang()`: keep every connection open and read what the client sends, but forward
  nothing either way, as a node whose process is stopped or a link that blackholes.
- `delay_seconds`: hold each chunk the server sends this long (order kept): latency.
- `flap_connections`: every other new connection is reset as soon as it is accepted.
- `cut()`: reset every open connection now.
- `heal()`: forward again, with no delay and no flapping.

What it cannot do is fail one call among several on one HTTP/2 connection, or rewrite
an answer: that is `tests.faults.faulty_node`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time


class FaultProxy:
    """Forwards 127.0.0.1:port to upstream ("host:port"), with faults switched on demand."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self._upstream = (host, int(port))
        self.port = 0
        self.delay_seconds = 0.0
        self.flap_connections = False
        self.accepted = 0
        self._silent = False
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        """Where clients connect."""
        return f"127.0.0.1:{self.port}"

    async def listen(self) -> None:
        """Accept connections (on the same port as before, once one was chosen)."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def refuse(self) -> None:
        """Stop listening and reset open connections: connects are refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.cut()

    def hang(self) -> None:
        """Forward nothing, on open connections and new ones, until `heal`."""
        self._silent = True

    def heal(self) -> None:
        """Forward again, promptly; connections that lost bytes while silent are reset."""
        if self._silent:
            self.cut()
        self._silent = False
        self.delay_seconds = 0.0
        self.flap_connections = False

    def cut(self) -> None:
        """Reset every open connection (RST, not an orderly close)."""
        for writer in list(self._writers):
            _reset(writer)

    async def close(self) -> None:
        """Stop listening, reset connections, end the forwarding tasks."""
        await self.refuse()
        for task in list(self._links):
            task.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.flap_connections and self.accepted % 2 == 0:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            _reset(writer)
            return
        self._writers.update((writer, up_writer))
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pump(reader, up_writer, downstream=False))
                group.create_task(self._pump(up_reader, writer, downstream=True))
        except* (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._links.discard(link)
            for end in (writer, up_writer):
                self._writers.discard(end)
                _reset(end)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, downstream: bool
    ) -> None:
        """Copy one direction; downstream chunks wait out `delay_seconds` (in order)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while chunk := await reader.read(65536):
                if self._silent:
                    continue
                delay = self.delay_seconds if downstream else 0.0
                queue.put_nowait((time.monotonic() + delay, chunk))
            raise ConnectionResetError("peer closed")
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort with RST: linger 0, so the peer sees a reset, as from a crashed host."""
    with contextlib.suppress(OSError):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def start_proxy(upstream: str) -> FaultProxy:
    """A listening proxy in front of upstream."""
    proxy = FaultProxy(upstream)
    await proxy.listen()
    return proxy
