"""cebra_data.assets (CEBRA's cebra.data.assets) against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import inspect
import pathlib
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from cebra_data import errors
from cebra_data.assets import _MAX_RETRY_COUNT, calculate_checksum, download_file_with_progress_bar

BODY = bytes(range(256)) * 300
MD5 = hashlib.md5(BODY).hexdigest()
GZ = gzip.compress(BODY, mtime=0)
GZ_MD5 = hashlib.md5(GZ).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.hits[self.path] += 1
        bodies = {"/data": BODY, "/data.gz": GZ, "/broken.gz": GZ[: len(GZ) // 2]}
        if self.path not in bodies:
            self.send_error(404, "Not Found")
            return
        body = bodies[self.path]
        self.send_response(200)
        self.send_header("Content-Disposition", 'attachment; filename="served.bin"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.hits = Counter()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_signatures_match_cebra_0_6_1() -> None:
    assert list(inspect.signature(download_file_with_progress_bar).parameters) == [
        "url", "expected_checksum", "location", "file_name", "retry_count", "gzipped_checksum"]
    defaults = inspect.signature(download_file_with_progress_bar).parameters
    assert defaults["retry_count"].default == 0 and defaults["gzipped_checksum"].default is None
    assert list(inspect.signature(calculate_checksum).parameters) == ["file_path"]
    assert _MAX_RETRY_COUNT == 2


def test_calculate_checksum_is_the_md5_hex_digest(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(BODY)
    assert calculate_checksum(path) == MD5 and calculate_checksum(str(path)) == MD5


def test_download_saves_under_the_served_name_and_returns_the_url(
        server: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture) -> None:
    result = download_file_with_progress_bar(f"{server}/data", MD5, tmp_path / "new", "served.bin")
    assert result == f"{server}/data"
    assert (tmp_path / "new" / "served.bin").read_bytes() == BODY
    captured = capsys.readouterr()
    assert "Download complete" in captured.out and "served.bin" in captured.err  # progress bar
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["served.bin"]


def test_existing_file_with_the_right_checksum_is_returned_without_a_request(
        server: str, tmp_path: pathlib.Path) -> None:
    (tmp_path / "mine.bin").write_bytes(BODY)
    result = download_file_with_progress_bar(f"{server}/data", MD5, tmp_path, "mine.bin")
    assert result == tmp_path / "mine.bin" and _Handler.hits["/data"] == 0


def test_checksum_mismatch_retries_then_raises_runtime_error(
        server: str, tmp_path: pathlib.Path) -> None:
    with pytest.warns(UserWarning, match="Checksum verification failed.*Retrying"):
        with pytest.raises(RuntimeError, match="Exceeded maximum retry count \\(2\\)") as info:
            download_file_with_progress_bar(f"{server}/data", "0" * 32, tmp_path, "served.bin")
    assert isinstance(info.value.__cause__, errors.ChecksumMismatchError)
    assert _Handler.hits["/data"] == _MAX_RETRY_COUNT
    assert list(tmp_path.iterdir()) == []  # nothing wrong is kept
    with pytest.raises(RuntimeError, match="Exceeded"):
        download_file_with_progress_bar(f"{server}/data", MD5, tmp_path, "served.bin",
                                        retry_count=2)
    assert _Handler.hits["/data"] == _MAX_RETRY_COUNT  # no further request


def test_gzipped_download_is_checked_extracted_and_cleaned_up(
        server: str, tmp_path: pathlib.Path) -> None:
    result = download_file_with_progress_bar(f"{server}/data.gz", MD5, tmp_path, "session.bin",
                                             gzipped_checksum=GZ_MD5)
    assert result == f"{server}/data.gz"
    assert (tmp_path / "session.bin").read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.bin"]


def test_gzipped_download_with_a_wrong_extracted_checksum_keeps_nothing(
        server: str, tmp_path: pathlib.Path) -> None:
    with pytest.warns(UserWarning, match="extracted"):
        with pytest.raises(RuntimeError, match="Exceeded"):
            download_file_with_progress_bar(f"{server}/data.gz", "0" * 32, tmp_path,
                                            "session.bin", gzipped_checksum=GZ_MD5)
    assert list(tmp_path.iterdir()) == [] and _Handler.hits["/data.gz"] == 2


def test_broken_gzip_file_is_retried_and_removed(server: str, tmp_path: pathlib.Path) -> None:
    broken = hashlib.md5(GZ[: len(GZ) // 2]).hexdigest()
    with pytest.warns(UserWarning, match="Retrying"):
        with pytest.raises(RuntimeError, match="Exceeded"):
            download_file_with_progress_bar(f"{server}/broken.gz", MD5, tmp_path, "session.bin",
                                            gzipped_checksum=broken)
    assert list(tmp_path.iterdir()) == []


def test_http_errors_are_os_errors(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.DownloadError, match="404") as info:
        download_file_with_progress_bar(f"{server}/missing", MD5, tmp_path, "x.bin")
    assert isinstance(info.value, OSError)
