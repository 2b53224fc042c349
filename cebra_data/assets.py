"""CEBRA 0.6.1's ``cebra.data.assets`` module, over :func:`cebra_data.io.download_file`.

:func:`download_file_with_progress_bar` and :func:`calculate_checksum` keep CEBRA's
signatures, defaults and results (the MD5 hex digest; the saved file's path when a file
with the right checksum is already there, else the URL after a download; up to
``_MAX_RETRY_COUNT`` attempts, then ``RuntimeError``). The transfer is
:func:`cebra_data.io.download_file`'s: only the standard library (no ``requests`` or
``tqdm``; the progress bar is drawn on stderr), and a partial or wrong download never
appears under the final name.
"""

from __future__ import annotations

import gzip
import pathlib
import warnings
import zlib
from typing import Optional, Union

from cebra_data.errors import ChecksumMismatchError
from cebra_data.io.download import download_file, extract_gzip, file_checksum

__all__ = ["calculate_checksum", "download_file_with_progress_bar"]

#: Number of download attempts before giving up (CEBRA's value).
_MAX_RETRY_COUNT = 2

_CHUNK = 1 << 16


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
    downloaded. Otherwise the file is saved in ``location`` under the name in the
    response's ``Content-Disposition`` header (else the URL's last segment), as in CEBRA.
    With ``gzipped_checksum``, the response is a gzip file: it is saved as
    ``file_name + ".gz"``, checked against ``gzipped_checksum``, extracted to
    ``location / file_name``, checked against ``expected_checksum`` and deleted.

    A checksum mismatch or a broken gzip file warns and retries, up to
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
        DownloadError: HTTP error status, connection failure or truncated transfer (an
            ``OSError``, like CEBRA's ``requests.HTTPError``).
        ValueError: ``url``, ``expected_checksum`` or ``location`` is ``None``.

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

    failure: Optional[BaseException] = None
    for _ in range(int(retry_count), _MAX_RETRY_COUNT):
        try:
            if gzipped_checksum:
                archive = download_file(url, checksum=gzipped_checksum, location=location_path,
                                        file_name=f"{file_name}.gz")
                print("Gzipped file checksum verified. Extracting...")
                try:
                    extract_gzip(archive, file_path, expected_checksum)
                finally:
                    archive.unlink(missing_ok=True)
                print(f"Extraction complete. Dataset saved in '{file_path}'")
            else:
                saved = download_file(url, checksum=expected_checksum, location=location_path)
                print(f"Download complete. Dataset saved in '{saved}'")
            return url
        except (ChecksumMismatchError, gzip.BadGzipFile, EOFError, zlib.error) as exc:
            failure = exc
            warnings.warn(f"{exc} Retrying download...", UserWarning, stacklevel=2)
    raise RuntimeError(
        f"Exceeded maximum retry count ({_MAX_RETRY_COUNT}). "
        f"Unable to download the file from {url}"
    ) from failure
