"""cebra_data.assets (CEBRA's cebra.data.assets) against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import inspect
import pathlib
import sys
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
import requests

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
        bodies = {"/data": BODY, "/data.gz": GZ, "/broken.gz": GZ[: len(GZ) // 2],
                  "/escape": BODY, "/nameless": BODY, "/short": BODY, "/nul": BODY}
        if self.path not in bodies:
            self.send_error(404, "Not Found")
            return
        body = bodies[self.path]
        names = {"/escape": "../../outside.bin", "/nameless": None}
        name = names.get(self.path, "served.bin")
        self.send_response(200)
        if self.path == "/nul":  # an RFC 2231 name that decodes to a NUL byte
            self.send_header("Content-Disposition", "attachment; filename*=UTF-8''da%00ta.bin")
        elif name is not None:
            self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        # /short announces more bytes than it sends, then closes the connection.
        extra = 1000 if self.path == "/short" else 0
        self.send_header("Content-Length", str(len(body) + extra))
        self.end_headers()
        self.wfile.write(body)
        if extra:
            self.close_connection = True


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


def test_http_errors_raise_requests_http_error(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(requests.HTTPError, match="404") as info:
        download_file_with_progress_bar(f"{server}/missing", MD5, tmp_path, "x.bin")
    assert isinstance(info.value, OSError) and info.value.response.status_code == 404
    assert list(tmp_path.iterdir()) == []


def test_served_name_cannot_escape_location(server: str, tmp_path: pathlib.Path) -> None:
    location = tmp_path / "a" / "b"
    download_file_with_progress_bar(f"{server}/escape", MD5, location, "x.bin")
    assert (location / "outside.bin").read_bytes() == BODY
    assert not (tmp_path / "outside.bin").exists()
    assert sorted(p.name for p in location.iterdir()) == ["outside.bin"]


def test_missing_content_disposition_is_a_value_error(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Content-Disposition"):
        download_file_with_progress_bar(f"{server}/nameless", MD5, tmp_path, "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer_keeps_no_file(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(OSError) as info:  # requests' ChunkedEncodingError or our DownloadError
        download_file_with_progress_bar(f"{server}/short", MD5, tmp_path, "served.bin")
    assert isinstance(info.value, (requests.RequestException, errors.DownloadError))
    assert list(tmp_path.iterdir()) == []


def test_missing_requests_names_the_download_extra(
        monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setitem(sys.modules, "requests", None)  # makes `import requests` fail
    with pytest.raises(errors.MissingDependencyError, match=r"cebra_data\[download\]"):
        download_file_with_progress_bar("http://127.0.0.1:9/x", MD5, tmp_path, "x.bin")


def test_served_name_with_a_nul_byte_is_sanitised(server: str, tmp_path: pathlib.Path) -> None:
    download_file_with_progress_bar(f"{server}/nul", MD5, tmp_path, "x.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    assert (tmp_path / "data.bin").read_bytes() == BODY
