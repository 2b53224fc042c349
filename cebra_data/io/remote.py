"""Files given by URL (``http://``, ``https://``), read lazily by byte ranges.

An NWB file on the DANDI archive may hold gigabytes of raw voltage beside a small behaviour
series; reading that series must not download the rest. :func:`open_url` gives h5py a
file-like object that fetches only the byte ranges h5py asks for:

1. **One probe** asks for ``Range: bytes=0-0`` with a timeout, follows redirects (DANDI's
   asset URLs redirect to S3) and learns the file's size and final URL from the answer
   (``206`` and ``Content-Range``). Every later request goes to the final URL: the redirect
   is resolved once per call, not once per range.
2. **Small reads** (HDF5 metadata, small datasets) go through a block cache of
   :data:`BLOCK_SIZE` blocks (fsspec's ``BlockCache``, at most :data:`CACHE_BLOCKS` blocks), so
   nearby reads cost one request; **large reads** (:data:`DIRECT_READ` bytes or more: data
   chunks) are one range request each and are not cached.

The requests are made with `requests <https://requests.readthedocs.io>`_, in the calling
thread, on one kept-alive connection per call. Both libraries are the optional extra
``remote`` (``pip install "cebra_data[remote]"``; fsspec already comes with torch); without
them, a URL raises :class:`~cebra_data.errors.MissingDependencyError` naming the extra.
``docs/nwb.rst`` has the measurements behind these choices (remfile, fsspec's HTTP file
system and its caches on a local range server) and why fsspec's own HTTP transport is not
used: it runs the requests on a background event-loop thread, and h5py, which holds its lock
while it reads, deadlocked when that thread's garbage collection finalised an h5py object.

Failures name the URL and never hang: every connection and every read waits at most
:func:`timeout_seconds` (default :data:`DEFAULT_TIMEOUT`, or the environment variable
:data:`TIMEOUT_ENV`), and nothing is retried. A ``404`` is a
:class:`~cebra_data.errors.RemoteFileNotFoundError` (a ``FileNotFoundError``); a refused, reset
or unresolvable connection a :class:`~cebra_data.errors.RemoteConnectionError` and a stalled
server a :class:`~cebra_data.errors.RemoteTimeoutError` (both ``ConnectionError``, never "file
not found"); other statuses, a server that ignores byte ranges, an answer whose
``Content-Range`` does not hold the bytes asked for, and a file whose ``ETag`` (or
``Last-Modified``) changes between two answers of one call, a
:class:`~cebra_data.errors.RemoteFileError`. ``s3://`` URLs are not read yet: pass the object's
``https://`` URL.

A URL is never turned into a :class:`pathlib.Path` (which would fold ``https://`` into
``https:/``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import math
import os
import re
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any, Optional

from cebra_data.errors import (
    EmptyFileError,
    MissingDependencyError,
    RemoteConnectionError,
    RemoteFileError,
    RemoteFileNotFoundError,
    RemoteTimeoutError,
    UnsupportedURLError,
)

__all__ = [
    "BLOCK_SIZE",
    "CACHE_BLOCKS",
    "DEFAULT_TIMEOUT",
    "DIRECT_READ",
    "REMOTE_EXTRA",
    "TIMEOUT_ENV",
    "RangeFile",
    "RemoteTarget",
    "is_url",
    "open_url",
    "probe",
    "timeout_seconds",
]

#: How to install the optional dependency, quoted in error messages.
REMOTE_EXTRA = 'pip install "cebra_data[remote]"  (or: pip install requests fsspec)'
#: Seconds a connection or a read may wait for the server before it fails.
DEFAULT_TIMEOUT = 15.0
#: Environment variable that overrides :data:`DEFAULT_TIMEOUT` (seconds, a positive number).
TIMEOUT_ENV = "CEBRA_DATA_HTTP_TIMEOUT"
#: Bytes per block of the cache for small reads (about 0.3 % of the measured file was read with it).
BLOCK_SIZE = 128 * 1024
#: Blocks the cache keeps (32 MiB).
CACHE_BLOCKS = 256
#: Reads of at least this many bytes are one range request each, outside the cache.
DIRECT_READ = 1 << 20

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


def is_url(source: Any) -> bool:
    """Whether ``source`` is a URL (a string ``scheme://...``) rather than a local path.

    Example:
        >>> from cebra_data.io.remote import is_url
        >>> is_url("https://dandiarchive.org/x.nwb"), is_url("s3://bucket/x.nwb"), is_url("data/x.nwb")
        (True, True, False)
    """
    return isinstance(source, str) and _SCHEME.match(source) is not None


def check_url(url: str) -> str:
    """``url`` if it is an ``http(s)://`` URL with a host.

    Raises:
        UnsupportedURLError: another scheme (``s3://`` is not read yet), no host, or a URL
            that cannot be parsed (e.g. an unclosed ``[`` of an IPv6 address, a port out of
            range).
    """
    scheme = _SCHEME.match(url).group(1).lower()  # type: ignore[union-attr]
    if scheme not in ("http", "https"):
        hint = (" s3:// URLs are not read yet: pass the object's https URL instead, e.g. "
                "https://<bucket>.s3.amazonaws.com/<key> (DANDI's asset URLs are https)."
                if scheme == "s3" else "")
        raise UnsupportedURLError(
            f"Only http:// and https:// URLs are read, but got {url!r} ({scheme}://).{hint}"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - parsed here so that a bad port is refused with the URL named
    except ValueError as exc:  # urllib's own: "Invalid IPv6 URL", "Port out of range 0-65535"
        raise UnsupportedURLError(f"The URL {url!r} is malformed: {exc}.") from exc
    if not host:
        raise UnsupportedURLError(f"The URL {url!r} names no host.")
    return url


def timeout_seconds() -> float:
    """The timeout of every connection and read: :data:`TIMEOUT_ENV` if set, else the default.

    Raises:
        ValueError: the environment variable is not a positive number.
    """
    text = os.environ.get(TIMEOUT_ENV)
    if text is None or not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"The environment variable {TIMEOUT_ENV} should be a positive number of seconds, "
            f"but is {text!r}."
        )
    return value


def _remote_libraries(url: str) -> tuple[Any, Any]:
    """``(requests, fsspec.caching)``, or :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module("requests"), importlib.import_module("fsspec.caching")
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading {url!r} by URL needs requests and fsspec, the optional extra 'remote': "
            f"{REMOTE_EXTRA}"
        ) from exc


# ----------------------------------------------------------------------------- the probe


@dataclasses.dataclass(frozen=True)
class RemoteTarget:
    """Where a URL leads: the URL as given, the URL after redirects, and the file's size.

    ``version`` is what the probe's answer said of the file's version (its ``ETag``, else its
    ``Last-Modified`` date, else ``None``); every later answer must say the same.
    """

    url: str
    final_url: str
    size: int
    version: Optional[tuple[str, str]] = None

    def where(self) -> str:
        """The URL for messages, with the redirect target when there was one."""
        if self.final_url == self.url:
            return f"'{self.url}'"
        return f"'{self.url}' (redirected to '{self.final_url}')"


#: Headers of every request: no compression (a byte range of a compressed body is useless).
_HEADERS = {"Accept-Encoding": "identity"}


def probe(url: str, timeout: float, session: Any = None) -> RemoteTarget:
    """Ask for the first byte of ``url``: its size and final URL after redirects.

    Args:
        url: An ``http(s)://`` URL.
        timeout: Seconds to wait for the connection and for each read of the answer.
        session: A ``requests.Session`` to reuse (its connection then serves the ranges).

    Raises:
        RemoteFileNotFoundError: HTTP 404 or 410.
        RemoteConnectionError: the connection is refused, reset or its host unknown.
        RemoteTimeoutError: no answer within ``timeout`` seconds.
        RemoteFileError: another HTTP error, or a server that does not serve byte ranges.
        EmptyFileError: the file has no bytes.
    """
    requests, _ = _remote_libraries(url)
    session = session if session is not None else requests.Session()
    try:
        answer = session.get(url, headers={**_HEADERS, "Range": "bytes=0-0"},
                             timeout=(timeout, timeout), allow_redirects=True, stream=True)
    except Exception as exc:
        raise connection_error(url, exc, timeout) from exc
    with contextlib.closing(answer):
        status, final = answer.status_code, answer.url
        span = answer.headers.get("Content-Range", "")
        if status == 416:
            raise EmptyFileError(f"'{url}' is empty (0 bytes).")
        if status >= 400:
            raise http_error(url, status, answer.reason)
        if status == 206:
            try:
                answer.content  # the one byte, so that the connection can serve the ranges
            except Exception as exc:
                raise connection_error(url, exc, timeout) from exc
    if status != 206:
        raise RemoteFileError(
            f"The server of '{url}' answered a byte-range request with HTTP {status} (the whole "
            "file), so the file cannot be read in parts. Download it and pass the local path."
        )
    match = _CONTENT_RANGE.match(span)
    if match is None or match.group(3) == "*":
        raise RemoteFileError(
            f"The server of '{url}' gave no file size in its answer (Content-Range: {span!r}), "
            "so the file cannot be read in parts. Download it and pass the local path."
        )
    if int(match.group(1)) != 0:
        raise RemoteFileError(
            f"The server of '{url}' answered a request for the first byte with another range "
            f"(Content-Range: {span!r}), so the file cannot be read in parts. Download it and "
            "pass the local path."
        )
    return RemoteTarget(url, final, int(match.group(3)), _version(answer.headers))


def _version(headers: Any) -> Optional[tuple[str, str]]:
    """``("ETag", value)``, else ``("Last-Modified", value)``, else ``None``."""
    for name in ("ETag", "Last-Modified"):
        value = headers.get(name)
        if value:
            return name, value.strip()
    return None


def http_error(url: str, status: int, reason: Any) -> RemoteFileError:
    """The error for an HTTP error status of ``url``."""
    text = f"HTTP {status}" + (f" {reason}" if reason else "")
    if status in (404, 410):
        return RemoteFileNotFoundError(f"No file at '{url}': the server answered {text}.")
    if status in (401, 403):
        return RemoteFileError(
            f"Access to '{url}' was refused ({text}): the file is private (e.g. an embargoed "
            "dandiset) or the signed URL has expired."
        )
    return RemoteFileError(f"Could not read '{url}': the server answered {text}.")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes (``__cause__``, ``__context__``, and the ``reason`` of urllib3)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        todo += [e for e in linked if isinstance(e, BaseException)]


def connection_error(url: str, exc: BaseException, timeout: float) -> RemoteFileError:
    """The documented error for a failure of the transport while reading ``url``.

    A timeout anywhere in the chain of causes is a :class:`RemoteTimeoutError`; anything else
    a :class:`RemoteConnectionError` (refused, reset, unresolved host).
    """
    if isinstance(exc, RemoteFileError):
        return exc
    chain = list(_chain(exc))
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())
    if any(isinstance(e, (TimeoutError, socket.timeout)) or "Timeout" in type(e).__name__
           for e in chain):
        return RemoteTimeoutError(
            f"The server of '{url}' did not answer within {timeout:g} s ({detail}). It may "
            f"be overloaded or unreachable; set {TIMEOUT_ENV} to wait longer."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return RemoteConnectionError(
            f"Could not connect to the server of '{url}': the connection was refused "
            f"({detail}). Check the host and port, and that the server is running."
        )
    return RemoteConnectionError(f"Could not read '{url}': the connection failed ({detail}).")


# ----------------------------------------------------------------------------- the file


class RangeFile(io.RawIOBase):
    """A read-only, seekable file object over a URL whose reads are byte-range requests.

    Built by :func:`open_url` (see the module for the caching). Requests run in the calling
    thread, on one kept-alive connection. A failed request is kept in :attr:`error` and
    raised as a plain ``OSError`` to the reader (h5py), so that the caller can raise the
    documented error naming the URL.

    Attributes:
        target: The probed URL (final URL and size).
        error: The first transport error, or ``None``.
    """

    def __init__(self, target: RemoteTarget, timeout: float, session: Any) -> None:
        super().__init__()
        _, caching = _remote_libraries(target.url)
        self.target = target
        self.timeout = timeout
        self.error: Optional[BaseException] = None
        self._position = 0
        self._session = session
        self._cache = caching.BlockCache(BLOCK_SIZE, self._fetch, target.size,
                                         maxblocks=CACHE_BLOCKS)

    def _fetch(self, start: int, stop: int) -> bytes:
        """Bytes ``start`` to ``stop`` (exclusive; clipped to the file) in one range request."""
        stop = min(stop, self.target.size)
        if stop <= start:
            return b""
        try:
            answer = self._session.get(
                self.target.final_url, headers={**_HEADERS, "Range": f"bytes={start}-{stop - 1}"},
                timeout=(self.timeout, self.timeout), allow_redirects=False)
        except Exception as exc:
            raise connection_error(self.target.url, exc, self.timeout) from exc
        if answer.status_code >= 400:
            raise http_error(self.target.url, answer.status_code, answer.reason)
        data = answer.content
        if self.target.version is not None:
            name, expected = self.target.version
            found = answer.headers.get(name)
            if found is not None and found.strip() != expected:
                raise RemoteFileError(
                    f"The file at {self.target.where()} changed while it was read (its {name} "
                    f"was {expected}, then {found.strip()}): its parts would not belong "
                    "together. Read it again."
                )
        span = answer.headers.get("Content-Range", "")
        match = _CONTENT_RANGE.match(span)
        if answer.status_code == 206 and match is not None:
            first, last = int(match.group(1)), int(match.group(2))
            total = match.group(3)
            # HTTP lets a server send a wider range than asked, if Content-Range says so
            if (first <= start and last >= stop - 1 and len(data) == last - first + 1
                    and (total == "*" or int(total) == self.target.size)):
                return data[start - first:stop - first]
        raise RemoteFileError(
            f"The server of {self.target.where()} answered HTTP {answer.status_code} with "
            f"{len(data)} bytes (Content-Range: {span!r}) for the {stop - start} bytes at "
            f"{start}: it does not serve byte ranges reliably, or the file changed while it "
            "was read."
        )

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.target.size}
        if whence not in base:
            raise ValueError(f"whence should be 0, 1 or 2, but got {whence!r}.")
        position = base[whence] + int(offset)
        if position < 0:
            raise ValueError(f"Cannot seek to a negative position ({position}).")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        start = self._position
        count = min(len(view), max(0, self.target.size - start))
        if count == 0:
            return 0
        data, failed = b"", None
        try:
            if count >= DIRECT_READ:
                data = self._fetch(start, start + count)
            else:
                data = self._cache._fetch(start, start + count)
        except Exception as exc:
            failed = f"{type(exc).__name__}: {exc}"
            if self.error is None:
                self.error = exc
        if failed is not None:
            # A plain error without cause or context: h5py keeps the error of a failed open
            # until the interpreter exits, and the transport's traceback must not outlive it.
            raise OSError(f"Reading {count} bytes at {start} of '{self.target.url}' failed: {failed}")
        view[:count] = data
        self._position = start + count
        return count

    def close(self) -> None:
        """Close the connection; the object keeps no transport state after this."""
        if not self.closed:
            with contextlib.suppress(Exception):
                self._session.close()
            self._session = self._cache = None
        super().close()

    def failure(self) -> Optional[RemoteFileError]:
        """The documented error for the first failed request, or ``None``."""
        if self.error is None:
            return None
        return connection_error(self.target.url, self.error, self.timeout)


@contextlib.contextmanager
def open_url(url: str) -> Iterator[RangeFile]:
    """Open ``url`` for lazy reading: one probe, then range requests (see the module).

    Any error raised inside the ``with`` block after a request failed becomes the
    documented error of that failure (naming the URL), with the transport's error as cause.

    Raises:
        UnsupportedURLError: not an ``http(s)://`` URL.
        MissingDependencyError: the extra ``remote`` is not installed.
        RemoteFileError, RemoteFileNotFoundError, RemoteConnectionError, RemoteTimeoutError,
        EmptyFileError: see :func:`probe`.
    """
    check_url(url)
    requests, _ = _remote_libraries(url)
    timeout = timeout_seconds()
    session = requests.Session()
    try:
        target = probe(url, timeout, session)
    except BaseException:
        session.close()
        raise
    if target.size == 0:
        session.close()
        raise EmptyFileError(f"'{url}' is empty (0 bytes).")
    handle = RangeFile(target, timeout, session)
    try:
        yield handle
    except Exception as exc:
        failure, cause = handle.failure(), handle.error
        handle.error = None  # h5py may hold the handle until exit: it must not hold the error
        if failure is None or exc is failure:
            raise
        raise failure from cause
    finally:
        handle.close()
