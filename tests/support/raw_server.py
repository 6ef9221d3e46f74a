"""A deployment written on raw sockets, for tests that need bytes the emulator would
never send (a pause between headers and first token, a Set-Cookie...): one thread
accepts connections one at a time, reads each request (its head and its
``content-length`` body) and lets the test's ``answer`` write the reply."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

#: The deployment path of the URL :func:`raw_deployment` yields.
OCID = "ocid1.datasciencemodeldeployment.oc1.iad.x"

#: ``answer(conn, head, body)``: write the reply on ``conn``; return whether the
#: connection stays open for another request (keep-alive).
Answer = Callable[[socket.socket, bytes, bytes], bool]


def read_until(sock: socket.socket, marker: bytes, data: bytes = b"") -> bytes:
    """``data`` and what ``sock`` sends next, up to and past ``marker`` (or all of it,
    when the peer closes first: the caller checks for ``marker``)."""
    while marker not in data:
        more = sock.recv(65536)
        if not more:
            break
        data += more
    return data


def _read_request(conn: socket.socket, data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(head, body, what was read past the body), or None when the caller closed."""
    data = read_until(conn, b"\r\n\r\n", data)
    if b"\r\n\r\n" not in data:
        return None
    head, _, data = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.lower().split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            length = int(value)
    while len(data) < length:
        more = conn.recv(65536)
        if not more:
            return None
        data += more
    return head, data[:length], data[length:]


@contextlib.contextmanager
def raw_deployment(answer: Answer) -> Iterator[str]:
    """Serve on 127.0.0.1 and a free port until the block ends; yields the deployment's
    URL (``http://127.0.0.1:PORT/OCID``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    address = listener.getsockname()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:  # the accept timed out
                return
            with conn:
                if stop.is_set():  # the block's own wake-up call
                    return
                conn.settimeout(10)
                data = b""
                while True:
                    try:
                        request = _read_request(conn, data)
                    except OSError:
                        break
                    if request is None:
                        break
                    head, body, data = request
                    if not answer(conn, head, body):
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{address[1]}/{OCID}"
    finally:
        stop.set()
        # A blocked accept() does not return when its socket is closed: connect to it.
        with contextlib.suppress(OSError):
            socket.create_connection(address, timeout=1).close()
        thread.join(10)
        listener.close()
