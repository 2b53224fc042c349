"""Download a dataset file once, verify it, and never leave a partial file behind.

This implements the ``download=True`` path of CEBRA's
``Dataset(download, data_url, data_checksum, location, file_name)``: the file is saved in
``location`` under ``file_name`` (or the name the server gives in its
``Content-Disposition`` header), its MD5 checksum is compared with ``data_checksum``, and
nothing is downloaded when a file with the right checksum is already there.

Differences from CEBRA: the file is written to a temporary file in the same directory and
renamed into place only after its checksum matched, so an interrupted or corrupted
download never appears under the final name; a mismatch raises instead of retrying; a
server-supplied name cannot point outside ``location``; ``Content-Encoding: gzip``
responses are decompressed (the checksum is of the decompressed file, as with
``requests``); it uses only the standard library.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import pathlib
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from typing import IO, Optional, Union

from cebra_data.errors import ChecksumMismatchError, DownloadError

__all__ = ["download_file", "extract_gzip", "file_checksum", "safe_file_name"]

_CHUNK = 1 << 16


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """``(algorithm, hex digest)``; plain hex means MD5, ``"sha256:..."`` picks another."""
    if not isinstance(checksum, str) or not checksum.strip():
        raise TypeError(
            f"checksum should be a hex digest string, but got checksum={checksum!r}."
        )
    algorithm, _, digest = checksum.strip().rpartition(":")
    algorithm = (algorithm or "md5").lower()
    if algorithm not in hashlib.algorithms_available:
        raise ValueError(
            f"Unknown checksum algorithm {algorithm!r}; use e.g. 'md5' (the default) or "
            "'sha256:<hex digest>'."
        )
    return algorithm, digest.lower()


def file_checksum(path: Union[str, pathlib.Path], algorithm: str = "md5") -> str:
    """Hex digest of a file's content (MD5 by default, as CEBRA's ``calculate_checksum``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _server_name(response: http.client.HTTPResponse, url: str) -> Optional[str]:
    """The file name from ``Content-Disposition``, else the URL's last path segment."""
    name = response.headers.get_filename()
    if not name:
        name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
    return safe_file_name(name or "")


#: Longest file name (in UTF-8 bytes) most file systems accept.
_MAX_NAME_BYTES = 255


def safe_file_name(name: str) -> Optional[str]:
    """A server-supplied file name made safe to save under, or ``None`` if none remains.

    Only the last path component is kept (a server must not choose where the file goes),
    control characters (a NUL byte, line breaks ...) are removed, and surrounding
    blanks stripped; ``""``, ``"."``, ``".."`` and names longer than 255 bytes give
    ``None``.

    Example:
        >>> from cebra_data.io.download import safe_file_name
        >>> safe_file_name("../../data\\x00.jl"), safe_file_name("..")
        ('data.jl', None)
    """
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if ord(c) >= 32 and ord(c) != 127).strip()
    if name in ("", ".", "..") or len(name.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
        return None
    return name


class _Progress:
    """A one-line progress bar on stderr (percentage when the size is known)."""

    def __init__(self, total: Optional[int], label: str, enabled: bool, stream: IO[str]) -> None:
        self.total, self.label, self.enabled, self.stream = total, label, enabled, stream
        self.done = 0
        self._last = 0.0

    def update(self, count: int) -> None:
        """Count ``count`` more bytes and redraw at most ten times a second."""
        self.done += count
        now = time.monotonic()
        if self.enabled and now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        mb = self.done / 1e6
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            bar = "#" * int(30 * fraction)
            text = f"\r{self.label}: [{bar:<30}] {100 * fraction:5.1f}% ({mb:.1f} MB)"
        else:
            text = f"\r{self.label}: {mb:.1f} MB"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state and end the line."""
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


def download_file(
    url: Optional[str],
    *,
    checksum: Optional[str],
    location: Union[str, pathlib.Path, None],
    file_name: Optional[str] = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> pathlib.Path:
    """Download ``url`` into ``location`` unless a file with the right checksum is there.

    Args:
        url: The file's URL (``http``, ``https`` or ``file``).
        checksum: Expected MD5 hex digest of the file (CEBRA's ``data_checksum``), or
            ``"<algorithm>:<hex digest>"`` for another :mod:`hashlib` algorithm.
        location: Directory to save into; created if missing.
        file_name: Name to save under. ``None`` uses the name in the response's
            ``Content-Disposition`` header, else the URL's last path segment.
        progress: Draw a progress bar on stderr.
        timeout: Seconds to wait for the server before giving up.

    Returns:
        Path of the verified file.

    Raises:
        ValueError: ``url``, ``checksum`` or ``location`` is missing.
        DownloadError: HTTP error status, connection failure, truncated transfer, or no
            usable file name (an ``OSError``).
        ChecksumMismatchError: the downloaded content has another checksum; nothing is
            kept.
    """
    if url is None:
        raise ValueError("Missing data URL. Please provide the URL to download the data.")
    if checksum is None:
        raise ValueError(
            "Missing data checksum. Please provide the checksum to verify the data integrity."
        )
    if location is None:
        raise ValueError("Missing location. Please provide the directory to save the data in.")
    algorithm, expected = _parse_checksum(checksum)
    directory = pathlib.Path(location)
    directory.mkdir(parents=True, exist_ok=True)

    if file_name is not None:
        if not isinstance(file_name, (str, os.PathLike)) or "\x00" in os.fspath(file_name):
            raise ValueError(
                f"file_name should be a file name without NUL bytes, but got {file_name!r}."
            )
        target = directory / file_name
        target.parent.mkdir(parents=True, exist_ok=True)  # file_name may name a subfolder
        if target.is_file() and file_checksum(target, algorithm) == expected:
            return target

    request = urllib.request.Request(
        url, headers={"Accept-Encoding": "gzip", "User-Agent": "cebra_data"}
    )
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise DownloadError(
            f"Downloading {url} failed with HTTP status {exc.code} ({exc.reason})."
        ) from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise DownloadError(f"Could not connect to {url}: {exc}.") from exc

    with response:
        name = file_name if file_name is not None else _server_name(response, response.geturl())
        if name is None:
            raise DownloadError(
                f"Cannot tell a file name for {url}: neither the response's Content-Disposition "
                "nor the URL's last path segment gives a usable one (none, '..', only control "
                "characters, or longer than 255 bytes). Pass file_name=..."
            )
        target = directory / name
        if file_name is None and target.is_file() and file_checksum(target, algorithm) == expected:
            return target
        return _receive(response, url, target, algorithm, expected, progress)


def _receive(
    response: http.client.HTTPResponse,
    url: str,
    target: pathlib.Path,
    algorithm: str,
    expected: str,
    progress: bool,
) -> pathlib.Path:
    """Stream the body into a temporary file next to ``target``, verify, then rename."""
    encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ("gzip", "x-gzip") else None
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    digest = hashlib.new(algorithm)
    bar = _Progress(total, f"Downloading {target.name}", progress, sys.stderr)
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    temporary = pathlib.Path(handle.name)
    try:
        with handle:
            try:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    bar.update(len(chunk))
                    data = decoder.decompress(chunk) if decoder is not None else chunk
                    digest.update(data)
                    handle.write(data)
            except (OSError, http.client.HTTPException) as exc:
                raise DownloadError(
                    f"The download of {url} broke off after {bar.done} bytes: {exc}."
                ) from exc
            except zlib.error as exc:
                raise DownloadError(f"The gzip-encoded response from {url} is corrupt.") from exc
            if decoder is not None:
                data = decoder.flush()
                digest.update(data)
                handle.write(data)
                if not decoder.eof:
                    raise DownloadError(f"The gzip-encoded response from {url} is truncated.")
            if total is not None and bar.done < total:
                raise DownloadError(
                    f"The download of {url} broke off after {bar.done} of {total} bytes."
                )
            handle.flush()
            os.fsync(handle.fileno())
        bar.close()
        received = digest.hexdigest()
        if received != expected:
            raise ChecksumMismatchError(
                f"Checksum verification failed for {url}: expected {algorithm} {expected}, got "
                f"{received}. The download was discarded; check data_checksum or the URL."
            )
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def extract_gzip(archive: pathlib.Path, target: pathlib.Path, expected_checksum: str) -> None:
    """Decompress the gzip file ``archive`` into ``target`` if the result's MD5 is ``expected_checksum``.

    The data are written to a temporary file beside ``target`` and renamed only once
    the checksum matches, so a wrong or partial file never appears under ``target``.

    Raises:
        ChecksumMismatchError: the decompressed data has another checksum (nothing kept).
        gzip.BadGzipFile, EOFError, zlib.error: the archive is not a whole gzip file.
    """
    digest = hashlib.md5()
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    temporary = pathlib.Path(handle.name)
    try:
        with handle, gzip.open(archive, "rb") as source:
            for chunk in iter(lambda: source.read(_CHUNK), b""):
                digest.update(chunk)
                handle.write(chunk)
        if digest.hexdigest() != expected_checksum:
            raise ChecksumMismatchError(
                f"The file extracted from '{archive}' has MD5 {digest.hexdigest()}, expected "
                f"{expected_checksum}."
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
