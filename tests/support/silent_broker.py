"""A TCP server on loopback that accepts connections and never answers: a hung broker.

Clients connect at once (the kernel completes the handshake) and then wait for answers that
never come, which is what a broker stuck in a long GC pause, or a firewall that swallows
packets after the handshake, looks like to them.
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class SilentBroker:
    """``with SilentBroker() as broker:`` listens on ``broker.address`` until the block ends."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # so the accepting thread notices the end of the block
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-broker", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"{host}:{port}"

    def __enter__(self) -> "SilentBroker":
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join()
        for connection in [*self._held, self._listener]:
            connection.close()

    def _accept(self) -> None:
        """Take every connection and hold it open, reading nothing and writing nothing."""
        while not self._stopped.is_set():
            try:
                connection, _peer = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(connection)
