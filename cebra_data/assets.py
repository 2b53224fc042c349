"""CEBRA 0.6.1's ``cebra.data.assets`` module: download a file with a progress bar.

:func:`download_file_with_progress_bar` and :func:`calculate_checksum` keep CEBRA's
signatures, defaults and results (the MD5 hex digest; the saved file's path when a file
with the right checksum is already there, else the URL after a download; up to
``_MAX_RETRY_COUNT`` attempts, then ``RuntimeError``). As in CEBRA, the transfer uses
``requests`` (``requests.HTTPError`` for a status other than 200) and the progress bar
``tqdm``; both come with the optional extra ``cebra_data[download]``.

Safer than CEBRA: the data are written to a temporary file in ``location`` and renamed
only after the checksum matched, so a partial or wrong download never appears under the
final name, and a server-supplied file name is reduced to its last path component so it
cannot point outside ``location``.
"""

from __future__ import annotations

import email.message
import gzip
import hashlib
import os
import pathlib
import tempfile
import warnings
import zlib
from typing import Any, Optional, Tuple, Union

from cebra_data.errors import (
    ChecksumMismatchError,
    DownloadError,
    DownloadRetryWarning,
    MissingDependencyError,
)
from cebra_data.io.download import extract_gzip, file_checksum, safe_file_name

__all__ = ["calculate_checksum", "download_file_with_progress_bar"]

#: Number of download attempts before giving up (CEBRA's value).
_MAX_RETRY_COUNT = 2

#: Bytes asked from ``iter_content`` at a time.
_CHUNK = 1 << 16

#: Seconds to wait for the server (to connect, and between received bytes).
_TIMEOUT = 60.0

#: Failures of one attempt after which the download is tried again.
_RETRYABLE = (ChecksumMismatchError, gzip.BadGzipFile, EOFError, zlib.error)


def calculate_checksum(file_path: Union[str, pathlib.Path]) -> str:
    """Calculate the MD5 checksum of a file.

    Args:
        file_path: The path to the file.

    Returns:
        The MD5 checksum of the file, as a hex string.

    Example:
        >>> from cebra_data.assets import calculate_checksum
        >>> path = tmp_path / "hello.txt"
        >>> _ = path.write_bytes(b"hello")
        >>> calculate_checksum(path)
        '5d41402abc4b2a76b9719d911017c592'
    """
    return file_checksum(file_path, "md5")


def _download_modules() -> Tuple[Any, Any]:
    """``(requests, tqdm)``, or a :class:`MissingDependencyError` naming the extra to install."""
    try:
        import requests
        import tqdm
    except ImportError as exc:
        raise MissingDependencyError(
            f"download_file_with_progress_bar needs 'requests' and 'tqdm', but {exc.name!r} is "
            "not installed. Install them with: pip install 'cebra_data[download]'"
        ) from exc
    return requests, tqdm


def _served_name(headers: Any) -> str:
    """The file name in a ``Content-Disposition`` header, reduced to its last path component.

    Raises:
        ValueError: the header is missing, names no file, or names no usable file (such as
            ``".."``, a directory, or only control characters).
    """
    disposition = headers.get("Content-Disposition")
    if not disposition:
        raise ValueError(
            "Unable to determine the filename. 'Content-Disposition' header not found."
        )
    message = email.message.Message()
    message["Content-Disposition"] = disposition
    name = message.get_filename()
    if not name:
        raise ValueError(
            "Unable to determine the filename from the 'Content-Disposition' header: expected "
            f"e.g. 'attachment; filename=\"data.jl\"', but got {disposition!r}."
        )
    # A server must not choose where the file goes, nor put control characters in it.
    base = safe_file_name(name)
    if base is None:
        raise ValueError(
            f"The 'Content-Disposition' header names no usable file: got {name!r}."
        )
    return base


def _receive(response: Any, url: str, target: pathlib.Path, expected: str, tqdm: Any) -> None:
    """Stream ``response`` into a temporary file beside ``target``; rename it if the MD5 matches.

    Raises:
        ChecksumMismatchError: the received data have another MD5 (nothing is kept).
        DownloadError: fewer bytes arrived than ``Content-Length`` announced.
    """
    length = str(response.headers.get("Content-Length") or "")
    total = int(length) if length.isdigit() else None
    # iter_content decodes a Content-Encoding, so only plain bodies can be counted.
    countable = total is not None and not response.headers.get("Content-Encoding")
    digest = hashlib.md5()
    received = 0
    handle = tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    temporary = pathlib.Path(handle.name)
    try:
        with handle, tqdm.tqdm(total=total, unit="B", unit_scale=True,
                               desc=target.name) as bar:
            for data in response.iter_content(chunk_size=_CHUNK):
                handle.write(data)
                digest.update(data)
                received += len(data)
                bar.update(len(data))
            handle.flush()
            os.fsync(handle.fileno())
        if countable and received < total:
            raise DownloadError(
                f"The download of {url} broke off after {received} of {total} bytes."
            )
        if digest.hexdigest() != expected:
            raise ChecksumMismatchError(
                f"Checksum verification failed for {url}: expected MD5 {expected}, got "
                f"{digest.hexdigest()}. The download was discarded."
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _attempt(requests: Any, tqdm: Any, url: str, expected_checksum: str,
             location_path: pathlib.Path, file_path: pathlib.Path,
             gzipped_checksum: Optional[str]) -> None:
    """One download (and, for gzip files, extraction) of ``url``."""
    response = requests.get(url, stream=True, timeout=_TIMEOUT)
    try:
        if response.status_code != 200:
            raise requests.HTTPError(
                "Error occurred while downloading the file. Response code: "
                f"{response.status_code} (url: {url})",
                response=response,
            )
        if gzipped_checksum:
            location_path.mkdir(parents=True, exist_ok=True)
            archive = location_path / f".{file_path.name}.gz"
            try:
                _receive(response, url, archive, gzipped_checksum, tqdm)
                print("Gzipped file checksum verified. Extracting...")
                extract_gzip(archive, file_path, expected_checksum)
            finally:
                archive.unlink(missing_ok=True)
            print(f"Extraction complete. Dataset saved in '{file_path}'")
        else:
            target = location_path / _served_name(response.headers)
            location_path.mkdir(parents=True, exist_ok=True)
            _receive(response, url, target, expected_checksum, tqdm)
            print(f"Download complete. Dataset saved in '{target}'")
    finally:
        response.close()


def download_file_with_progress_bar(
    url: str,
    expected_checksum: str,
    location: Union[str, pathlib.Path],
    file_name: str,
    retry_count: int = 0,
    gzipped_checksum: Optional[str] = None,
) -> Optional[Union[str, pathlib.Path]]:
    """Download a file from the given URL, showing a progress bar, and verify its checksum.

    If ``location / file_name`` exists with the MD5 ``expected_checksum``, nothing is
    downloaded. Otherwise ``requests.get(url, stream=True)`` fetches the file and ``tqdm``
    shows the progress. The file is saved in ``location`` under the name in the
    response's ``Content-Disposition`` header (only its last path component), as in CEBRA.
    With ``gzipped_checksum``, the response is a gzip file: it is checked against
    ``gzipped_checksum``, extracted to ``location / file_name`` and checked against
    ``expected_checksum``; the compressed file is not kept.

    Data are written to a temporary file in ``location`` and renamed only after the
    checksum matched. A checksum mismatch or a broken gzip file warns and retries, up to
    ``_MAX_RETRY_COUNT`` attempts in all (counting from ``retry_count``).

    Args:
        url: The URL to download the file from.
        expected_checksum: The expected MD5 checksum of the downloaded file (or of the
            extracted file if ``gzipped_checksum`` is given).
        location: The directory where the file will be saved (created if missing).
        file_name: The name of the file.
        retry_count: The number of attempts already made (default: 0).
        gzipped_checksum: Optional MD5 checksum of the gzipped file. If given, the file
            is extracted after download.

    Returns:
        The path of the existing file if it already had the right checksum, else ``url``
        after a successful download (CEBRA's return values).

    Raises:
        RuntimeError: the maximum retry count is exceeded (the last mismatch is the
            cause).
        requests.HTTPError: the server answered with a status other than 200 (other
            ``requests`` errors, such as a failed connection, pass through; all are
            ``OSError``).
        DownloadError: fewer bytes arrived than the server announced.
        ValueError: ``expected_checksum`` or ``location`` is ``None``, or (without
            ``gzipped_checksum``) the response has no usable ``Content-Disposition`` file
            name.
        MissingDependencyError: ``requests`` or ``tqdm`` is not installed (install
            ``cebra_data[download]``).

    Example:
        >>> from cebra_data.assets import calculate_checksum, download_file_with_progress_bar
        >>> _ = (tmp_path / "data.bin").write_bytes(b"already here")
        >>> download_file_with_progress_bar("http://127.0.0.1:9/data.bin",
        ...     calculate_checksum(tmp_path / "data.bin"), tmp_path, "data.bin").name
        'data.bin'
    """
    if location is None:
        raise ValueError("Missing location. Please provide the directory to save the data in.")
    if expected_checksum is None:
        raise ValueError(
            "Missing expected_checksum. Please provide the checksum to verify the data integrity."
        )
    location_path = pathlib.Path(location)
    file_path = location_path / file_name
    if file_path.is_file() and calculate_checksum(file_path) == expected_checksum:
        return file_path
    requests, tqdm = _download_modules()

    failure: Optional[BaseException] = None
    for _ in range(int(retry_count), _MAX_RETRY_COUNT):
        try:
            _attempt(requests, tqdm, url, expected_checksum, location_path, file_path,
                     gzipped_checksum)
            return url
        except _RETRYABLE as exc:
            failure = exc
            warnings.warn(f"{exc} Retrying download...", DownloadRetryWarning, stacklevel=2)
    raise RuntimeError(
        f"Exceeded maximum retry count ({_MAX_RETRY_COUNT}). "
        f"Unable to download the file from {url}"
    ) from failure
