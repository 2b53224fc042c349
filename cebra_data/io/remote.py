"""Files given by URL (``http://``, ``https://``), read lazily by byte ranges.

An NWB file on the DANDI archive may hold gigabytes of raw voltage beside a small behaviour
series; reading that series must not download the rest. :func:`open_url` gives h5py a
file-like object that fetches only the byte ranges h5py asks for:

1. **One probe** asks for ``Range: bytes=0-0`` with a timeout, follows redirects (DANDI's
   asset URLs redirect to S3) and learns the file's size and final URL from the answer
   (``206`` and ``Content-Range``). Every later request goes to the final URL: the redirect
   is resolved once per call, not once per range.
2. **Small reads** (HDF5 metadata, small datasets) go through a block cache of
   :data:`BLOCK_SIZE` blocks (fsspec's ``blockcache``, at most :data:`CACHE_BLOCKS` blocks), so
   nearby reads cost one request; **large reads** (:data:`DIRECT_READ` bytes or more: data
   chunks) are one range request each and are not cached.

The transport is fsspec's HTTP file system (over aiohttp): the optional extra ``remote``
(``pip install "cebra_data[remote]"``); without it, a URL raises
:class:`~cebra_data.errors.MissingDependencyError` naming the extra. ``docs/nwb.rst`` has the
measurements behind these choices (remfile and fsspec's caches on a local range server).

Failures name the URL and never hang: every connection and every read waits at most
:func:`timeout_seconds` (default :data:`DEFAULT_TIMEOUT`, or the environment variable
:data:`TIMEOUT_ENV`), and nothing is retried. A ``404`` is a
:class:`~cebra_data.errors.RemoteFileNotFoundError` (a ``FileNotFoundError``); a refused, reset
or unresolvable connection a :class:`~cebra_data.errors.RemoteConnectionError` and a stalled
server a :class:`~cebra_data.errors.RemoteTimeoutError` (both ``ConnectionError``, never "file
not found"); other statuses, and a server that ignores byte ranges, a
:class:`~cebra_data.errors.RemoteFileError`. ``s3://`` URLs are not read yet: pass the object's
``https://`` URL.

A URL is never turned into a :class:`pathlib.Path` (which would fold ``https://`` into
``https:/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import io
import math
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.client import HTTPException
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
REMOTE_EXTRA = 'pip install "cebra_data[remote]"  (or: pip install fsspec aiohttp)'
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
        UnsupportedURLError: another scheme (``s3://`` is not read yet), or no host.
    """
    scheme = _SCHEME.match(url).group(1).lower()  # type: ignore[union-attr]
    if scheme not in ("http", "https"):
        hint = (" s3:// URLs are not read yet: pass the object's https URL instead, e.g. "
                "https://<bucket>.s3.amazonaws.com/<key> (DANDI's asset URLs are https)."
                if scheme == "s3" else "")
        raise UnsupportedURLError(
            f"Only http:// and https:// URLs are read, but got {url!r} ({scheme}://).{hint}"
        )
    if not urllib.parse.urlsplit(url).hostname:
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
    """``(fsspec, aiohttp)``, or :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module("fsspec"), importlib.import_module("aiohttp")
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading {url!r} by URL needs fsspec and aiohttp, the optional extra 'remote': "
            f"{REMOTE_EXTRA}"
        ) from exc


# ----------------------------------------------------------------------------- the probe


@dataclasses.dataclass(frozen=True)
class RemoteTarget:
    """Where a URL leads: the URL as given, the URL after redirects, and the file's size."""

    url: str
    final_url: str
    size: int

    def where(self) -> str:
        """The URL for messages, with the redirect target when there was one."""
        if self.final_url == self.url:
            return f"'{self.url}'"
        return f"'{self.url}' (redirected to '{self.final_url}')"


def probe(url: str, timeout: float) -> RemoteTarget:
    """Ask for the first byte of ``url``: its size and final URL after redirects.

    Args:
        url: An ``http(s)://`` URL.
        timeout: Seconds to wait for the connection and for the answer.

    Raises:
        RemoteFileNotFoundError: HTTP 404 or 410.
        RemoteConnectionError: the connection is refused, reset or its host unknown.
        RemoteTimeoutError: no answer within ``timeout`` seconds.
        RemoteFileError: another HTTP error, or a server that does not serve byte ranges.
        EmptyFileError: the file has no bytes.
    """
    request = urllib.request.Request(url, headers={"Range": "bytes=0-0",
                                                   "Accept-Encoding": "identity"})
    opener = urllib.request.build_opener()
    try:
        with contextlib.closing(opener.open(request, timeout=timeout)) as answer:
            status = answer.status
            final = answer.geturl()
            span = answer.headers.get("Content-Range", "")
            if status == 206:
                answer.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416:
            raise EmptyFileError(f"'{url}' is empty (0 bytes).") from None
        raise http_error(url, exc.code, exc.reason) from None
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
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
    return RemoteTarget(url, final, int(match.group(3)))


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
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "reason", None) if isinstance(current, urllib.error.URLError) \
            and isinstance(getattr(current, "reason", None), BaseException) \
            else (current.__cause__ or current.__context__)


def connection_error(url: str, exc: BaseException, timeout: float) -> RemoteFileError:
    """The documented error for a failure of the transport while reading ``url``.

    A timeout anywhere in the chain of causes is a :class:`RemoteTimeoutError`; an HTTP
    status is :func:`http_error`'s; anything else a :class:`RemoteConnectionError`.
    """
    if isinstance(exc, RemoteFileError):
        return exc
    chain = list(_chain(exc))
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    for error in chain:
        if isinstance(error, (TimeoutError, socket.timeout, asyncio.TimeoutError)):
            return RemoteTimeoutError(
                f"The server of '{url}' did not answer within {timeout:g} s ({detail}). It may "
                f"be overloaded or unreachable; set {TIMEOUT_ENV} to wait longer."
            )
    for error in chain:
        status = getattr(error, "status", None)
        if isinstance(status, int) and status >= 400 and type(error).__name__ == "ClientResponseError":
            return http_error(url, status, getattr(error, "message", ""))
    for error in chain:
        if isinstance(error, ConnectionRefusedError):
            return RemoteConnectionError(
                f"Could not connect to the server of '{url}': the connection was refused "
                f"({detail}). Check the host and port, and that the server is running."
            )
    return RemoteConnectionError(f"Could not read '{url}': the connection failed ({detail}).")


# ----------------------------------------------------------------------------- the file


class RangeFile(io.RawIOBase):
    """A read-only, seekable file object over a URL whose reads are byte-range requests.

    Built by :func:`open_url` (see the module for the caching). A failed request is kept in
    :attr:`error` and raised as ``OSError`` to the reader (h5py), so that the caller can raise
    the documented error naming the URL.

    Attributes:
        target: The probed URL (final URL and size).
        error: The first transport error, or ``None``.
    """

    def __init__(self, target: RemoteTarget, timeout: float) -> None:
        super().__init__()
        fsspec, aiohttp = _remote_libraries(target.url)
        self.target = target
        self.timeout = timeout
        self.error: Optional[BaseException] = None
        self._position = 0
        client = {"timeout": aiohttp.ClientTimeout(total=None, sock_connect=timeout,
                                                   sock_read=timeout),
                  "trust_env": True}
        self._fs = fsspec.filesystem("http", skip_instance_cache=True, client_kwargs=client,
                                     encoded=True)
        try:
            self._file = self._fs.open(target.final_url, "rb", size=target.size,
                                       block_size=BLOCK_SIZE, cache_type="blockcache",
                                       cache_options={"maxblocks": CACHE_BLOCKS})
        except Exception as exc:
            raise connection_error(target.url, exc, timeout) from exc

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
                data = self._fs.cat_file(self.target.final_url, start=start, end=start + count)
            else:
                self._file.seek(start)
                data = self._file.read(count)
            if len(data) != count:
                raise RemoteFileError(
                    f"The server of {self.target.where()} sent {len(data)} bytes for the "
                    f"{count} bytes at {start}: it does not serve byte ranges reliably, or the "
                    "file changed while it was read."
                )
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
        """Close the connection pool's file; the object keeps no transport state after this."""
        if not self.closed:
            with contextlib.suppress(Exception):
                self._file.close()
            self._file = self._fs = None
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
    _remote_libraries(url)
    timeout = timeout_seconds()
    target = probe(url, timeout)
    if target.size == 0:
        raise EmptyFileError(f"'{url}' is empty (0 bytes).")
    handle = RangeFile(target, timeout)
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
