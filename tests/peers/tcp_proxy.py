"""A TCP proxy that a test can cut: the database "goes away" without touching the real server.

`TcpProxy(5432)` forwards 127.0.0.1:<free port> to 127.0.0.1:5432 from a background thread.
`cut()` drops every open connection (both sides) and refuses new ones; `restore()` listens
again on the same port. Processes pointed at `proxy.port` see PostgreSQL vanish and return.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from tests.peers.redis_server import free_port

_CHUNK = 65536


class TcpProxy:
    """Forwards `127.0.0.1:port` to `target_host:target_port`; use as a context manager."""

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", port: int | None = None) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port or free_port()
        self.accepted = 0
        """Connections accepted so far (tests check that traffic went through the proxy)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")
        self._server: asyncio.base_events.Server | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    # -- control (from the test's thread) --

    def cut(self) -> None:
        """Close every connection at once and refuse new ones until `restore()`."""
        self._call(self._cut())

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        self._call(self._listen())

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    # -- inside the proxy's loop --

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()  # the listening socket goes: new connections are refused
            self._server = None
        for transport in list(self._transports):
            transport.abort()  # no goodbye: like a database host that vanished
        self._transports.clear()

    async def _shutdown(self) -> None:
        await self._cut()
        # Aborted transports end their pumps on the loop's next turns; let them finish.
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer.transport, upstream_writer.transport}
        self._transports |= pair
        try:
            await asyncio.gather(self._pump(client_reader, upstream_writer),
                                 self._pump(upstream_reader, client_writer))
        finally:
            for transport in pair:
                transport.abort()
            self._transports -= pair

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    # -- lifecycle --

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
