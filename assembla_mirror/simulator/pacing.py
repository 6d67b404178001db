"""Writing to a client slowly or without end, never holding up the server's stop.

The hostile faults (``trickle``, ``endless``, ``huge``) write for as long as a
client puts up with it. A :class:`Pacer` does their waiting in slices of
:data:`STEP` seconds and checks between slices whether the server is stopping
or the client has gone; either way it raises :class:`Gone` and the handler
closes the connection. That bounds how long ``Simulator.stop()`` waits for a
handler thread to about one step.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from types import TracebackType

#: How often a waiting writer checks whether to give up (seconds).
STEP = 0.1


class Gone(Exception):
    """The server is stopping or the client went away: abandon the answer."""


class Pacer:
    """Writes to ``sock`` with pauses, raising :class:`Gone` when it should stop.

    Use as a context manager (it holds two selectors). Socket errors from a
    client that hung up also come out as :class:`Gone`.
    """

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self._sock = sock
        self._stopping = stopping
        # selectors rather than select.select: no FD_SETSIZE limit on busy test machines.
        self._readable = selectors.DefaultSelector()
        self._writable = selectors.DefaultSelector()
        self._readable.register(sock, selectors.EVENT_READ)
        self._writable.register(sock, selectors.EVENT_WRITE)

    def __enter__(self) -> Pacer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._readable.close()
        self._writable.close()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, checking every :data:`STEP` whether to give up."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(left, STEP)) or self._client_left():
                raise Gone

    def write(self, data: bytes) -> None:
        """Send all of ``data`` as fast as the client reads it."""
        view = memoryview(data)
        try:
            while view:
                if self._stopping.is_set():
                    raise Gone
                # Wait for room in the send buffer a step at a time; the socket's own
                # timeout (the handler's 120 s) would make a blocked send deaf to stop().
                if self._writable.select(STEP):
                    view = view[self._sock.send(view) :]
        except OSError as exc:  # reset, broken pipe: the client hung up
            raise Gone from exc

    def _client_left(self) -> bool:
        """Whether the client closed its end (readable, and a peek finds end-of-file)."""
        if not self._readable.select(0):
            return False
        try:
            return self._sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
