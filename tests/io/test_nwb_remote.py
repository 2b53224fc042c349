"""NWB files by URL, against a local threaded HTTP server with byte ranges (no network).

Every NWB entry point reads a URL as it reads the local file; a behaviour series of a file that
also holds a large electrophysiology series transfers a small share of it; redirects are
resolved once per call; 404s, refused and stalled connections fail fast, with the documented
error naming the URL.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import load_data, load_pose
from cebra_data.errors import (
    CorruptFileError,
    EmptyFileError,
    MissingDependencyError,
    RemoteConnectionError,
    RemoteFileError,
    RemoteFileNotFoundError,
    RemoteTimeoutError,
    UnsupportedURLError,
)
from cebra_data.io import inspect_file
from cebra_data.io import remote
from cebra_data.io.nwb import nwb_summary, read_timeseries, spike_counts

pytest.importorskip("pynwb")
pytest.importorskip("fsspec")
pytest.importorskip("requests")

from _nwb_sessions import EPHYS, POS, TRIALS, write_session  # noqa: E402
from _range_server import RangeServer, SilentServer, refused_url  # noqa: E402

#: Seconds a stalled request may wait in the tests of stalls (the default is 15 s).
TIMEOUT = 0.5
#: Seconds any other request may wait: reads of a healthy server must not fail because CI is
#: busy (a 0.5 s limit timed out once on a loaded 2-core machine), so only the stall tests
#: shorten it.
PATIENT = 60.0


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The session with a 40 MB ElectricalSeries, and a few bad files."""
    folder = tmp_path_factory.mktemp("served")
    write_session(folder / "session.nwb", ephys_mb=40)
    (folder / "notes.txt").write_text("not an NWB file\n" * 100)
    (folder / "empty.nwb").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def server(files):
    with RangeServer({"session.nwb": files / "session.nwb", "notes.txt": files / "notes.txt",
                      "empty.nwb": files / "empty.nwb"}) as running:
        yield running


@pytest.fixture(autouse=True)
def patient_timeout(monkeypatch):
    monkeypatch.setenv(remote.TIMEOUT_ENV, str(PATIENT))


@pytest.fixture
def local(files):
    return files / "session.nwb"


def _equal(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _equal(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _equal(x, y)
    elif isinstance(a, np.ndarray) or torch.is_tensor(a):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        assert a == b


# ----------------------------------------------------------------------------- equal reads


def test_every_entry_point_reads_a_url_as_the_local_file(server, local):
    url = server.url("session.nwb")
    _equal(read_timeseries(url, POS), read_timeseries(local, POS))
    _equal(spike_counts(url, 0.25), spike_counts(local, 0.25))
    _equal(nwb_summary(url), nwb_summary(local))
    _equal(load_data(url, key=POS), load_data(local, key=POS))
    url_info, local_info = inspect_file(url), inspect_file(local)
    assert url_info.pop("path") == url and local_info.pop("path") == str(local)
    _equal(url_info, local_info)
    kwargs = dict(neural="units", bin_size=0.1, continuous=POS, trials=TRIALS,
                  discrete=TRIALS + "/stimulus")
    from_url = cebra_data.TensorDataset.from_nwb(url, **kwargs)
    from_path = cebra_data.TensorDataset.from_nwb(local, **kwargs)
    for field in ("neural", "continuous_index", "discrete_index", "trial_ids", "timestamps",
                  "discrete_categories"):
        _equal(getattr(from_url, field), getattr(from_path, field))


def test_load_pose_reads_an_nwb_url(tmp_path, rng):
    pynwb = pytest.importorskip("pynwb")
    ndx_pose = pytest.importorskip("ndx_pose")
    from test_pose_sleap_nwb import _nwb_file

    _nwb_file(pynwb, ndx_pose, tmp_path / "poses.nwb", rng)
    with RangeServer({"poses.nwb": tmp_path / "poses.nwb"}) as server:
        np.testing.assert_array_equal(load_pose(server.url("poses.nwb")),
                                      load_pose(tmp_path / "poses.nwb"))
        assert inspect_file(server.url("poses.nwb"))["poses"]["keypoints"] == \
            inspect_file(tmp_path / "poses.nwb")["poses"]["keypoints"]
        with pytest.raises(UnsupportedURLError, match="NWB files only"):
            load_pose(server.url("poses.nwb"), source="sleap")


# ----------------------------------------------------------------------------- lazy reads


def test_a_behaviour_series_transfers_a_small_share_of_the_file(server, local):
    size = local.stat().st_size
    server.reset()
    data, times = read_timeseries(server.url("session.nwb"), POS)
    assert data.shape == (850, 2)
    # measured: 0.4 MB, about 1 % of this 40 MB file (HDF5 metadata and the series itself)
    assert server.bytes_sent < 0.02 * size, (server.bytes_sent, size)
    server.reset()
    ephys, _ = read_timeseries(server.url("session.nwb"), EPHYS)  # all of it, when asked
    assert server.bytes_sent >= ephys.nbytes


@pytest.mark.parametrize("call", [
    lambda url: cebra_data.TensorDataset.from_nwb(url, neural="units", bin_size=0.1,
                                                  continuous=[POS, POS], trials=TRIALS,
                                                  discrete=TRIALS + "/correct"),
    lambda url: inspect_file(url),
    lambda url: load_data(url, key=POS),
    lambda url: spike_counts(url, 0.1),
], ids=["from_nwb", "inspect_file", "load_data", "spike_counts"])
def test_one_open_and_one_redirect_per_call(server, call):
    server.reset()
    call(server.redirect_url("session.nwb"))
    assert server.probes == 1
    assert server.redirects == 1  # every range request after the probe goes to the final URL


# ----------------------------------------------------------------------------- failures


def _fails_fast(call, error, *fragments, limit=12.0):
    # The limit only has to tell "failed on our timeout" from "hung": it stays below the 15 s
    # default timeout and far above TIMEOUT, so a busy machine does not make it fail.
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        call()
    elapsed = time.perf_counter() - start
    assert elapsed < limit, elapsed
    for fragment in fragments:
        assert fragment in str(caught.value)
    return caught.value


@pytest.mark.parametrize("entry", [
    lambda url: read_timeseries(url, POS), lambda url: load_data(url, key=POS),
    lambda url: inspect_file(url), lambda url: nwb_summary(url),
    lambda url: cebra_data.TensorDataset.from_nwb(url, neural="units", bin_size=0.1),
    lambda url: load_pose(url), lambda url: spike_counts(url, 0.1),
], ids=["read_timeseries", "load_data", "inspect_file", "nwb_summary", "from_nwb", "load_pose",
        "spike_counts"])
def test_bad_urls_fail_fast_and_name_the_url(server, entry, monkeypatch):
    missing = server.base + "/files/missing.nwb"
    error = _fails_fast(lambda: entry(missing), RemoteFileNotFoundError, missing, "404")
    assert isinstance(error, FileNotFoundError) and isinstance(error, RemoteFileError)
    refused = refused_url()
    error = _fails_fast(lambda: entry(refused), RemoteConnectionError, refused, "refused")
    assert isinstance(error, ConnectionError) and not isinstance(error, FileNotFoundError)
    monkeypatch.setenv(remote.TIMEOUT_ENV, str(TIMEOUT))
    with SilentServer() as silent:
        error = _fails_fast(lambda: entry(silent.url()), RemoteTimeoutError, silent.url(),
                            f"within {TIMEOUT:g} s")
    assert isinstance(error, ConnectionError) and not isinstance(error, FileNotFoundError)


def test_a_server_stalling_after_the_probe_fails_within_the_timeout(files, monkeypatch):
    monkeypatch.setenv(remote.TIMEOUT_ENV, str(TIMEOUT))
    with RangeServer({"session.nwb": files / "session.nwb"}, stall_after=1) as stalling:
        url = stalling.url("session.nwb")
        error = _fails_fast(lambda: read_timeseries(url, POS), RemoteTimeoutError, url)
        assert error.__cause__ is not None  # the transport's own error


def test_other_bad_answers(server, files, monkeypatch):
    with RangeServer({"session.nwb": files / "session.nwb"}, ignore_range=True) as whole:
        _fails_fast(lambda: read_timeseries(whole.url("session.nwb"), POS), RemoteFileError,
                    "HTTP 200", "Download it")
    _fails_fast(lambda: load_data(server.url("notes.txt")), CorruptFileError,
                server.url("notes.txt"), "NWB (HDF5) files only")
    _fails_fast(lambda: read_timeseries(server.url("empty.nwb"), POS), EmptyFileError,
                server.url("empty.nwb"))
    with pytest.raises(UnsupportedURLError, match="s3:// URLs are not read yet"):
        read_timeseries("s3://dandiarchive/blobs/abc.nwb", POS)
    with pytest.raises(UnsupportedURLError, match="ftp://"):
        load_data("ftp://example.org/x.nwb")
    monkeypatch.setenv(remote.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=remote.TIMEOUT_ENV):
        read_timeseries(server.url("session.nwb"), POS)


def test_a_wider_range_named_in_content_range_is_cut_to_the_bytes_asked(files, local):
    with RangeServer({"session.nwb": files / "session.nwb"}, align=100_000) as widening:
        _equal(read_timeseries(widening.url("session.nwb"), POS), read_timeseries(local, POS))


def test_a_content_range_other_than_the_bytes_sent_is_refused(files):
    with RangeServer({"session.nwb": files / "session.nwb"}, bad_content_range=True) as liar:
        url = liar.url("session.nwb")
        error = _fails_fast(lambda: read_timeseries(url, POS), RemoteFileError, url,
                            "Content-Range")
    assert not isinstance(error, (RemoteConnectionError, FileNotFoundError))


def test_a_file_replaced_while_it_is_read_is_an_error_not_a_mix(files, tmp_path):
    other = tmp_path / "other.nwb"
    write_session(other, seed=1, ephys_mb=40)  # the same layout, other values
    with RangeServer({"session.nwb": files / "session.nwb"},
                     replace_after=(3, {"session.nwb": other})) as store:
        url = store.url("session.nwb")
        _fails_fast(lambda: read_timeseries(url, POS), RemoteFileError, url,
                    "changed while it was read", "ETag")


def test_a_url_is_never_a_path(server):
    url = server.base + "/files/missing.nwb"
    with pytest.raises(RemoteFileNotFoundError) as caught:
        cebra_data.TensorDataset.from_nwb(url, neural="units", bin_size=0.1)
    assert "http://" in str(caught.value) and "http:/1" not in str(caught.value)


def test_without_the_extra_a_url_names_it(server, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "requests", None)
    with pytest.raises(MissingDependencyError, match=r"cebra_data\[remote\]"):
        read_timeseries(server.url("session.nwb"), POS)


def test_remote_reads_raise_no_warning(server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_timeseries(server.url("session.nwb"), POS)
        inspect_file(server.redirect_url("session.nwb"))
