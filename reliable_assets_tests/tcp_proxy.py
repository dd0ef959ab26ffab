"""A loopback TCP proxy in front of a real server, whose link the test can cut and restore.

Clients connect to `127.0.0.1:<port>`; each connection is piped to the server (a TCP address or
a Unix socket, as pgserver's PostgreSQL listens). `refuse(n)` makes the next `n` connections
(all of them with `n=None`) be closed on arrival and cuts the live ones, which is what a client
sees of a database that went away; `restore()` lets them through again. `refused` counts the
connections turned away, so a test can tell its fault was met.
"""

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qs, urlsplit

CHUNK = 65536


class CuttableProxy:
    def __init__(self, target: str | tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._to_refuse: int | None = 0  # None: every connection
        self._live: set[socket.socket] = set()
        self.refused = 0
        self._thread = threading.Thread(target=self._accept_forever, daemon=True, name="tcp-proxy")
        self._thread.start()

    def refuse(self, connections: int | None = None) -> None:
        with self._lock:
            self._to_refuse = connections
            live, self._live = list(self._live), set()
        for sock in live:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._to_refuse = 0

    def close(self) -> None:
        self.refuse()
        _close(self._listener)

    def _accept_forever(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                turned_away = self._to_refuse is None or self._to_refuse > 0
                if turned_away:
                    self.refused += 1
                    if self._to_refuse is not None:
                        self._to_refuse -= 1
            if turned_away:
                _close(client)
                continue
            threading.Thread(target=self._pipe_connection, args=(client,), daemon=True).start()

    def _pipe_connection(self, client: socket.socket) -> None:
        try:
            server = _connect(self._target)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._live.update({client, server})
        forward = threading.Thread(target=_pump, args=(client, server), daemon=True)
        forward.start()
        _pump(server, client)
        forward.join()


def _connect(target: str | tuple[str, int]) -> socket.socket:
    if isinstance(target, str):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.connect(target)
        return unix
    return socket.create_connection(target)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(CHUNK):
            sink.sendall(data)
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


def postgres_target(url: str) -> str | tuple[str, int]:
    """Where a `postgresql://` URL's server listens: its Unix socket, or host and port."""
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    port = parts.port or 5432
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


@contextmanager
def proxy_in_front_of_postgres(url: str) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(postgres_target(url))
    try:
        yield proxy
    finally:
        proxy.close()
