"""download_file against a real HTTP server on 127.0.0.1 (port 0), started by the test."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import pathlib
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from cebra_data import errors
from cebra_data.io import download_file, file_checksum

BODY = bytes(range(256)) * 400  # 100 kB
MD5 = hashlib.md5(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, body: bytes, headers: dict[str, str], length: int | None = None) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        self.hits[self.path] += 1
        if self.path == "/files/data":
            self._send(BODY, {"Content-Disposition": 'attachment; filename="served.bin"'})
        elif self.path == "/plain/name.bin":
            self._send(BODY, {})
        elif self.path == "/gzip":
            self._send(gzip.compress(BODY), {"Content-Encoding": "gzip",
                                             "Content-Disposition": 'attachment; filename="g.bin"'})
        elif self.path == "/short":
            self._send(BODY[:1000], {"Content-Disposition": 'filename="short.bin"'},
                       length=len(BODY))
            self.close_connection = True
        elif self.path == "/nul":  # an RFC 2231 name that decodes to a NUL byte
            self._send(BODY, {"Content-Disposition": "attachment; filename*=UTF-8''da%00ta.bin"})
        elif self.path == "/files/nul%00name.bin":
            self._send(BODY, {})
        elif self.path == "/escape":
            self._send(BODY, {"Content-Disposition": 'attachment; filename="../../escape.bin"'})
        elif self.path == "/archive.gz":  # a gzip file served as is (no Content-Encoding)
            self._send(gzip.compress(BODY), {})
        elif self.path == "/slash/":
            self._send(BODY, {})
        else:
            self.send_error(404, "Not Found")


@pytest.fixture
def server() -> Iterator[str]:
    """Base URL of a threaded HTTP server on 127.0.0.1 with a free port."""
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


def _leftovers(directory: pathlib.Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_download_names_file_from_content_disposition(server: str, tmp_path: pathlib.Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    path = download_file(f"{server}/files/data", checksum=MD5, location=tmp_path / "new")
    assert path == tmp_path / "new" / "served.bin" and path.read_bytes() == BODY
    assert "Downloading served.bin" in capsys.readouterr().err
    assert _leftovers(tmp_path / "new") == ["served.bin"]


def test_existing_file_with_right_checksum_is_not_downloaded(server: str,
                                                             tmp_path: pathlib.Path) -> None:
    (tmp_path / "mine.bin").write_bytes(BODY)
    path = download_file(f"{server}/files/data", checksum=MD5, location=tmp_path,
                         file_name="mine.bin", progress=False)
    assert path == tmp_path / "mine.bin" and _Handler.hits["/files/data"] == 0
    # without file_name the name is only known from the response, whose body is not read
    download_file(f"{server}/files/data", checksum=MD5, location=tmp_path, progress=False)
    download_file(f"{server}/files/data", checksum=MD5, location=tmp_path, progress=False)
    assert (tmp_path / "served.bin").read_bytes() == BODY


def test_file_name_with_a_subfolder(server: str, tmp_path: pathlib.Path) -> None:
    path = download_file(f"{server}/files/data", checksum=MD5, location=tmp_path,
                         file_name="raw/session1.bin", progress=False)
    assert path == tmp_path / "raw" / "session1.bin" and path.read_bytes() == BODY


def test_wrong_existing_file_is_replaced(server: str, tmp_path: pathlib.Path) -> None:
    (tmp_path / "mine.bin").write_bytes(b"stale")
    download_file(f"{server}/files/data", checksum=MD5, location=tmp_path, file_name="mine.bin",
                  progress=False)
    assert (tmp_path / "mine.bin").read_bytes() == BODY and _Handler.hits["/files/data"] == 1


def test_checksum_mismatch_keeps_nothing(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.ChecksumMismatchError, match=f"got {MD5}") as info:
        download_file(f"{server}/files/data", checksum="0" * 32, location=tmp_path,
                      progress=False)
    assert isinstance(info.value, ValueError)
    assert _leftovers(tmp_path) == []


def test_name_from_url_and_sha256_checksums(server: str, tmp_path: pathlib.Path) -> None:
    sha = "sha256:" + hashlib.sha256(BODY).hexdigest()
    path = download_file(f"{server}/plain/name.bin", checksum=sha, location=tmp_path,
                         progress=False)
    assert path.name == "name.bin" and file_checksum(path, "sha256") == sha.split(":")[1]
    with pytest.raises(errors.DownloadError, match="file_name"):
        download_file(f"{server}/slash/", checksum=MD5, location=tmp_path, progress=False)


def test_gzip_encoding_is_decoded(server: str, tmp_path: pathlib.Path) -> None:
    path = download_file(f"{server}/gzip", checksum=MD5, location=tmp_path, progress=False)
    assert path.read_bytes() == BODY


def test_http_error_and_truncated_transfer(server: str, tmp_path: pathlib.Path) -> None:
    with pytest.raises(errors.DownloadError, match="HTTP status 404") as info:
        download_file(f"{server}/absent", checksum=MD5, location=tmp_path, progress=False)
    assert isinstance(info.value, OSError)
    with pytest.raises(errors.DownloadError, match="broke off"):
        download_file(f"{server}/short", checksum=MD5, location=tmp_path, progress=False)
    assert _leftovers(tmp_path) == []


def test_server_cannot_choose_a_path_outside_location(server: str, tmp_path: pathlib.Path) -> None:
    target = tmp_path / "a" / "b"
    path = download_file(f"{server}/escape", checksum=MD5, location=target, progress=False)
    assert path == target / "escape.bin" and not (tmp_path / "escape.bin").exists()


def test_missing_arguments_and_unreachable_server(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="Missing data URL"):
        download_file(None, checksum=MD5, location=tmp_path)
    with pytest.raises(ValueError, match="Missing data checksum"):
        download_file("http://127.0.0.1:9/x", checksum=None, location=tmp_path)
    with pytest.raises(ValueError, match="Missing location"):
        download_file("http://127.0.0.1:9/x", checksum=MD5, location=None)
    with pytest.raises(ValueError, match="algorithm"):
        download_file("http://127.0.0.1:9/x", checksum="nohash:00", location=tmp_path)
    with pytest.raises(errors.DownloadError, match="Could not connect"):
        download_file("http://127.0.0.1:9/x", checksum=MD5, location=tmp_path, progress=False,
                      timeout=5)


class _RemoteDataset:
    """A dataset that fetches its file through the base class, as CEBRA's datasets do."""

    @staticmethod
    def make(**kwargs):
        import torch

        from cebra_data import SingleSessionDataset

        class Remote(SingleSessionDataset):
            def __init__(self) -> None:
                super().__init__(**kwargs)
                self.neural = torch.zeros(4, 2)

            def __len__(self) -> int:
                return 4

            @property
            def input_dimension(self) -> int:
                return 2

            def __getitem__(self, index):
                return self.neural[index][:, :, None]

        return Remote()


def test_dataset_base_downloads_once_and_verifies(server: str, tmp_path: pathlib.Path) -> None:
    url = f"{server}/files/data"
    first = _RemoteDataset.make(download=True, data_url=url, data_checksum=MD5, location=tmp_path)
    assert first.downloaded_file == tmp_path / "served.bin"
    assert first.downloaded_file.read_bytes() == BODY
    second = _RemoteDataset.make(download=True, data_url=url, data_checksum=MD5, location=tmp_path,
                                 file_name="served.bin")
    assert second.downloaded_file == first.downloaded_file
    assert _Handler.hits["/files/data"] == 1  # a verified file under that name: no request
    with pytest.raises(errors.ChecksumMismatchError):
        _RemoteDataset.make(download=True, data_url=url, data_checksum="0" * 32,
                            location=tmp_path / "other")
    assert not (tmp_path / "other" / "served.bin").exists()


def test_dataset_base_downloads_and_extracts_a_gzipped_file(server: str, tmp_path: pathlib.Path) -> None:
    url = f"{server}/archive.gz"
    gz_md5 = hashlib.md5(gzip.compress(BODY)).hexdigest()
    kwargs = dict(download=True, data_url=url, data_checksum=MD5, gzipped_checksum=gz_md5,
                  location=tmp_path, file_name="data.bin")
    first = _RemoteDataset.make(**kwargs)
    assert first.downloaded_file == tmp_path / "data.bin"
    assert first.downloaded_file.read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]  # the archive is removed
    _RemoteDataset.make(**kwargs)
    assert _Handler.hits["/archive.gz"] == 1  # the extracted file is verified, not fetched again
    with pytest.raises(errors.ChecksumMismatchError):
        _RemoteDataset.make(**dict(kwargs, data_checksum="0" * 32, location=tmp_path / "bad"))
    assert not (tmp_path / "bad" / "data.bin").exists()
    with pytest.raises(ValueError, match="gzipped_checksum needs file_name"):
        _RemoteDataset.make(**dict(kwargs, file_name=None))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(), "download=True needs data_url"),
        (dict(data_url="http://127.0.0.1:9/x"), "download=True needs data_checksum"),
        (dict(data_url="http://127.0.0.1:9/x", data_checksum=MD5), "download=True needs location"),
    ],
)
def test_dataset_base_download_needs_url_checksum_and_location(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        _RemoteDataset.make(download=True, **kwargs)


def test_server_names_with_control_characters_are_sanitised(server: str,
                                                            tmp_path: pathlib.Path) -> None:
    path = download_file(f"{server}/nul", checksum=MD5, location=tmp_path, progress=False)
    assert path == tmp_path / "data.bin" and path.read_bytes() == BODY
    path = download_file(f"{server}/files/nul%00name.bin", checksum=MD5, location=tmp_path,
                         progress=False)  # the name from the URL, unquoted
    assert path == tmp_path / "nulname.bin" and path.read_bytes() == BODY
    with pytest.raises(ValueError, match="NUL"):
        download_file(f"{server}/nul", checksum=MD5, location=tmp_path, file_name="a\x00b")
