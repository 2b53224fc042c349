"""A local HTTP server with byte-range support, for reading files by URL without a network.

:class:`RangeServer` serves files from a dict ``{name: path}`` on 127.0.0.1 (a free port),
one thread per connection, HTTP/1.1 keep-alive, as a cloud store does:

* ``GET /files/<name>`` answers ``200`` with the whole file, or ``206`` with one range for
  ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (``416`` past the end); ``HEAD`` too;
* ``GET /redirect/<name>`` answers ``302`` to ``/files/<name>`` (as DANDI's asset URLs do);
* anything else is ``404``.

Every answer has an ``ETag`` and a ``Last-Modified`` header taken from the served file's
size and modification time. It counts what it sent (``requests``, ``probes``, ``redirects``,
``bytes_sent``: body bytes handed to the socket, also of a response the client dropped), and
can misbehave on purpose: ``ignore_range=True`` answers every GET with the whole file;
``stall_after=k`` holds every request after the first ``k`` without an answer until
:meth:`release` (or ``stop``); ``replace_after=(k, {name: path})`` serves other files (with
their own ``ETag``) from the ``k+1``-th request on, as a store whose object is overwritten;
``align=n`` answers every range with the enclosing ``n``-byte-aligned range (and says so in
``Content-Range``, which HTTP allows); ``shift=d`` sends the bytes ``d`` further on while
``Content-Range`` names the range asked for (a broken server: nothing can detect that without
a checksum, so no test relies on it); ``bad_content_range=True`` names another range than the
one sent.

:class:`SilentServer` accepts connections (the kernel completes them) and never answers.
:func:`refused_url` is a URL on a port where nothing listens.

Used by ``tests/io/test_nwb_remote.py`` and ``benchmarks/bench_remote.py``.
"""

from __future__ import annotations

import http.server
import os
import re
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Optional

__all__ = ["RangeServer", "SilentServer", "refused_url"]

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_PIECE = 1 << 16


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args: object) -> None:  # keep the output clean
        pass

    def do_HEAD(self) -> None:  # noqa: N802 (the standard library's name)
        self._answer(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        owner = self.server.owner
        stall = owner._count_request()
        if stall:
            owner._released.wait(owner.stall_limit)
            self.close_connection = True
            return
        parts = self.path.split("?", 1)[0].split("/", 2)
        if len(parts) == 3 and parts[1] == "redirect" and parts[2] in owner.files:
            owner._add(redirects=1)
            self.send_response(302)
            self.send_header("Location", f"/files/{parts[2]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if len(parts) != 3 or parts[1] != "files" or parts[2] not in owner.files:
            self._status(404, b"not found")
            return
        path = owner._file(parts[2])
        stat = os.stat(path)
        size = stat.st_size
        owner._add(probes=int(self.headers.get("Range", "").strip() == "bytes=0-0"))
        start, stop, status = 0, size, 200
        wanted = self.headers.get("Range")
        if wanted and not owner.ignore_range:
            match = _RANGE.match(wanted.strip())
            if match is None or match.groups() == ("", ""):
                self._status(400, b"bad range")
                return
            first, last = match.groups()
            if first == "":
                start = max(0, size - int(last))
            else:
                start = int(first)
                stop = size if last == "" else min(size, int(last) + 1)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
            if owner.align:
                start = start - start % owner.align
                stop = min(size, -(-stop // owner.align) * owner.align)
        named = (start + 1, stop) if owner.bad_content_range else (start, stop)
        self.send_response(status)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("ETag", f'"{stat.st_size:x}-{stat.st_mtime_ns:x}-{stat.st_ino:x}"')
        self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {named[0]}-{named[1] - 1}/{size}")
        self.end_headers()
        if not body:
            return
        with open(path, "rb") as handle:
            handle.seek(min(size, start + owner.shift))
            left = stop - start
            try:
                while left:
                    piece = handle.read(min(_PIECE, left)).ljust(min(_PIECE, left), b"\0")
                    self.wfile.write(piece)
                    owner._add(bytes_sent=len(piece))
                    left -= len(piece)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading

    def _status(self, code: int, text: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: "RangeServer"

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)  # a client that hung up is normal


class RangeServer:
    """Serve ``files`` (name to path) on 127.0.0.1 with range support; a context manager.

    Attributes:
        requests: Requests answered or held so far.
        probes: Requests of a file's first byte only (``Range: bytes=0-0``), redirects not
            counted: one per file opened.
        redirects: Redirects answered.
        bytes_sent: Body bytes handed to the socket.
        ignore_range: Answer every GET with the whole file (a server without range support).
        stall_after: Hold every request after this many until :meth:`release` (``None``: never).
        stall_limit: Seconds a held request waits at most (so no thread outlives a test run).
        replace_after: ``(k, files)``: serve these files instead from request ``k + 1`` on.
        align: Answer ranges widened to multiples of this many bytes (``0``: as asked).
        shift: Send the bytes this far past the range that ``Content-Range`` names.
        bad_content_range: Name a range in ``Content-Range`` one byte off the one sent.
    """

    def __init__(self, files: Mapping[str, "os.PathLike[str] | str"], *, ignore_range: bool = False,
                 stall_after: Optional[int] = None, stall_limit: float = 30.0,
                 replace_after: Optional[tuple[int, Mapping[str, "os.PathLike[str] | str"]]] = None,
                 align: int = 0, shift: int = 0, bad_content_range: bool = False) -> None:
        self.files = {name: os.fspath(path) for name, path in files.items()}
        self.ignore_range = ignore_range
        self.stall_after = stall_after
        self.stall_limit = stall_limit
        self.replace_after = None if replace_after is None else (
            replace_after[0], {name: os.fspath(path) for name, path in replace_after[1].items()})
        self.align = align
        self.shift = shift
        self.bad_content_range = bad_content_range
        self.requests = 0
        self.probes = 0
        self.redirects = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    def _count_request(self) -> bool:
        with self._lock:
            self.requests += 1
            return self.stall_after is not None and self.requests > self.stall_after

    def _file(self, name: str) -> str:
        with self._lock:
            replaced = self.replace_after is not None and self.requests > self.replace_after[0]
        if replaced and name in self.replace_after[1]:  # type: ignore[index]
            return self.replace_after[1][name]  # type: ignore[index]
        return self.files[name]

    def _add(self, bytes_sent: int = 0, redirects: int = 0, probes: int = 0) -> None:
        with self._lock:
            self.bytes_sent += bytes_sent
            self.redirects += redirects
            self.probes += probes

    def reset(self) -> None:
        """Set the counters to zero."""
        with self._lock:
            self.requests = self.probes = self.redirects = self.bytes_sent = 0

    def release(self) -> None:
        """Let held requests end (their connections are closed without an answer)."""
        self._released.set()

    @property
    def base(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, name: str) -> str:
        """The file's URL."""
        return f"{self.base}/files/{name}"

    def redirect_url(self, name: str) -> str:
        """A URL that redirects (302) to the file's URL."""
        return f"{self.base}/redirect/{name}"

    def start(self) -> "RangeServer":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "RangeServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SilentServer:
    """A socket that accepts connections (in the kernel's backlog) and never answers."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)

    def url(self, name: str = "session.nwb") -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}/files/{name}"

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> "SilentServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refused_url(name: str = "session.nwb") -> str:
    """A URL on a loopback port where nothing listens (connections are refused)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}/files/{name}"
