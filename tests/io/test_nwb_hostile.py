"""Hostile NWB files: every entry point raises a documented error naming the file and the problem.

One test per class of problem (a library error, a malformed interval table, an empty or
non-numeric series, a broken clock, a degenerate units table, a malformed URL), each over the
entry points that meet it. Files are written with pynwb and then damaged with h5py, in tmp_path.
"""

from __future__ import annotations

import datetime
import shutil
import warnings

import h5py
import numpy as np
import pytest

from cebra_data import TensorDataset
from cebra_data.errors import (
    CorruptFileError,
    EmptyFileError,
    NonNumericDataError,
    UnsupportedURLError,
)
from cebra_data.io import inspect_file
from cebra_data.io.nwb import nwb_summary, read_timeseries, spike_counts

pynwb = pytest.importorskip("pynwb")

SPEED = "acquisition/speed"
POS = "processing/behavior/Position/pos"
TRIALS = "intervals/trials"


def _nwbfile():
    return pynwb.NWBFile(session_description="hostile", identifier="hostile",
                         session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))


def _write(nwb, path):
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return path


def _session(path, *, spikes=None, series=()):
    """Units, a speed series, a position series, four trials with a text and an integer column."""
    from pynwb.behavior import Position, SpatialSeries

    rng = np.random.default_rng(0)
    nwb = _nwbfile()
    for times in (spikes if spikes is not None else
                  [np.sort(rng.uniform(0, 10, 50)) for _ in range(3)]):
        nwb.add_unit(spike_times=times)
    nwb.add_acquisition(pynwb.TimeSeries(name="speed", data=rng.normal(size=(500, 3)), unit="m/s",
                                         rate=50.0, starting_time=0.0))
    behavior = nwb.create_processing_module("behavior", "position")
    behavior.add(Position(spatial_series=SpatialSeries(
        name="pos", data=rng.normal(size=(500, 2)), reference_frame="corner", rate=50.0,
        starting_time=0.0)))
    nwb.add_trial_column("stim", "cue")
    nwb.add_trial_column("port", "lick port")
    for i in range(4):
        nwb.add_trial(start_time=1.0 + 2 * i, stop_time=2.0 + 2 * i, stim="ab"[i % 2], port=i % 3)
    for ts in series:
        nwb.add_acquisition(ts)
    return _write(nwb, path)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return _session(tmp_path_factory.mktemp("hostile") / "good.nwb")


def _replace(path, name, data):
    """Replace the dataset ``name`` by ``data``, keeping its attributes (as a buggy writer would)."""
    with h5py.File(path, "r+") as file:
        attrs = dict(file[name].attrs)
        del file[name]
        dataset = file.create_dataset(name, data=data)
        for key, value in attrs.items():
            dataset.attrs[key] = value


def _copy(good, tmp_path, name):
    path = tmp_path / name
    shutil.copy(good, path)
    return path


# ----------------------------------------------------------------------------- library errors


def test_a_file_the_libraries_refuse_is_a_corrupt_file_error_naming_it(tmp_path):
    path = tmp_path / "bare_version.nwb"
    with h5py.File(path, "w") as file:  # NWB's version attribute and nothing else
        file.attrs["nwb_version"] = "2.7.0"
    calls = [
        lambda: TensorDataset.from_nwb(path, neural="units", bin_size=0.05),
        lambda: read_timeseries(path, SPEED),
        lambda: nwb_summary(path),
        lambda: inspect_file(path),
    ]
    for call in calls:
        with pytest.raises(CorruptFileError, match="bare_version.nwb") as info:
            call()
        assert "as an NWB file" in str(info.value) and "No data_type found" in str(info.value)
        assert info.value.__cause__ is not None and len(str(info.value)) < 400


def test_our_own_argument_errors_are_never_reported_as_a_corrupt_file(good):
    with pytest.raises(ValueError, match="bin_size should be a positive number") as info:
        TensorDataset.from_nwb(good, neural="units", bin_size=0.0)
    assert not isinstance(info.value, CorruptFileError)
    # a bin size in the wrong unit: refused before anything is allocated, the file not blamed
    for call in (lambda: TensorDataset.from_nwb(good, neural="units", bin_size=1e-12),
                 lambda: spike_counts(good, 1e-12)):
        with pytest.raises(ValueError, match=r"bin_size=1e-12 s .*good\.nwb.* bins, more than") as info:
            call()
        assert not isinstance(info.value, CorruptFileError)
        assert "MAX_BINS" in str(info.value)


# ----------------------------------------------------------------------------- interval tables


def _string_start(path):
    _replace(path, f"{TRIALS}/start_time", np.array([b"1", b"x", b"5", b"7"]))


def _missing_start(path):
    with h5py.File(path, "r+") as file:
        del file[f"{TRIALS}/start_time"]


def _short_stop(path):
    _replace(path, f"{TRIALS}/stop_time", np.array([2.0, 4.0, 6.0]))


def _two_d_start(path):
    _replace(path, f"{TRIALS}/start_time", np.array([[1.0, 3.0], [5.0, 7.0]]))


@pytest.mark.parametrize("damage, problem", [
    (_string_start, r"start_time column .* holds values of dtype \|S1, not times"),
    (_missing_start, r"has no start_time column"),
    (_short_stop, r"has 4 start times but 3 stop times"),
    (_two_d_start, r"start_time column .* has shape \(2, 2\)"),
])
def test_malformed_interval_times_name_file_table_and_column(good, tmp_path, damage, problem):
    path = _copy(good, tmp_path, "bad_trials.nwb")
    damage(path)
    for kwargs in ({"trials": TRIALS}, {"discrete": f"{TRIALS}/stim"}):
        with pytest.raises(CorruptFileError, match=problem) as info:
            TensorDataset.from_nwb(path, neural=SPEED, **kwargs)
        assert "bad_trials.nwb" in str(info.value) and f"'{TRIALS}'" in str(info.value)
    # inspect lists the rest of the file and marks the table with its short reason
    described = inspect_file(path)
    assert SPEED in [entry["name"] for entry in described["entries"]]
    error = described["intervals"][TRIALS]["error"]
    assert error.startswith("CorruptFileError") and len(error) < 300


def test_a_column_of_the_wrong_length_is_refused_as_a_label_and_marked_by_inspect(good, tmp_path):
    path = _copy(good, tmp_path, "short_column.nwb")
    _replace(path, f"{TRIALS}/port", np.array([1, 2]))
    with pytest.raises(CorruptFileError, match=r"'port' of 'intervals/trials' in .*short_column\.nwb"
                                               r".* 2 values for 4 intervals"):
        TensorDataset.from_nwb(path, neural=SPEED, discrete=f"{TRIALS}/port")
    # the table's times and other columns still work
    assert TensorDataset.from_nwb(path, neural=SPEED, trials=TRIALS).num_trials == 4
    described = inspect_file(path)["intervals"][TRIALS]
    assert described["columns"]["port"] == "unreadable: it has 2 values for 4 intervals"
    assert described["columns"]["stim"] == "text"


# ----------------------------------------------------------------------------- series


@pytest.fixture(scope="module")
def odd_series(tmp_path_factory):
    def ts(name, data, **clock):
        return pynwb.TimeSeries(name=name, data=data, unit="m", **clock)

    return _session(tmp_path_factory.mktemp("series") / "odd_series.nwb", series=[
        ts("empty", np.zeros((0, 3)), rate=10.0, starting_time=0.0),
        ts("empty_ts", np.zeros((0, 3)), timestamps=np.zeros(0)),
        ts("text", np.array(["a", "b", "c"]), rate=10.0),
        ts("nan_ts", np.zeros((5, 2)), timestamps=np.array([0.0, np.nan, 0.2, 0.3, 0.4])),
        ts("back_ts", np.zeros((5, 2)), timestamps=np.array([0.4, 0.3, 0.2, 0.1, 0.0])),
        ts("repeat_ts", np.zeros((5, 2)), timestamps=np.array([0.0, 0.1, 0.1, 0.1, 0.4])),
    ])


def _roles(series):
    return {
        "neural": {"neural": series},
        "continuous": {"neural": SPEED, "continuous": series},
        "discrete": {"neural": SPEED, "discrete": series},
    }


@pytest.mark.parametrize("name", ["empty", "empty_ts"])
def test_a_series_without_samples_is_an_empty_file_error_in_every_role(odd_series, name):
    for role, kwargs in _roles(f"acquisition/{name}").items():
        with pytest.raises(EmptyFileError, match=rf"The {role} series 'acquisition/{name}' of "
                                                 r"'.*odd_series\.nwb' has no samples"):
            TensorDataset.from_nwb(odd_series, **kwargs)


def test_a_text_series_is_non_numeric_in_every_role(odd_series):
    for role, kwargs in _roles("acquisition/text").items():
        with pytest.raises(NonNumericDataError, match=rf"The {role} series 'acquisition/text' of "
                                                      r"'.*odd_series\.nwb' holds values of dtype"):
            TensorDataset.from_nwb(odd_series, **kwargs)


@pytest.mark.parametrize("name, problem", [
    ("nan_ts", r"NaN or infinite \(the first at index 1: nan\)"),
    ("back_ts", r"timestamps\[1\] = 0\.3 s goes back from timestamps\[0\] = 0\.4 s"),
    ("repeat_ts", r"timestamps\[2\] = 0\.1 s repeats timestamps\[1\] = 0\.1 s"),
])
def test_one_clock_rule_for_every_series_neural_or_behaviour(odd_series, name, problem):
    key = f"acquisition/{name}"
    calls = [lambda kwargs=kwargs: TensorDataset.from_nwb(odd_series, **kwargs)
             for kwargs in _roles(key).values()]
    calls.append(lambda: TensorDataset.from_nwb(odd_series, neural=key, trials=TRIALS))
    calls.append(lambda: read_timeseries(odd_series, key))
    for call in calls:
        with pytest.raises(CorruptFileError, match=problem) as info:
            call()
        assert f"Series '{key}' of '{odd_series}'" in str(info.value)
    assert nwb_summary(odd_series)["series"][key]["error"].startswith("CorruptFileError")


def test_a_rate_that_is_not_positive_names_file_and_series_without_library_warnings(good, tmp_path):
    path = _copy(good, tmp_path, "zero_rate.nwb")
    with h5py.File(path, "r+") as file:
        file[f"{SPEED}/starting_time"].attrs["rate"] = -5.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pynwb's "Rate must not be a negative value." is ours now
        with pytest.raises(CorruptFileError, match=rf"Series '{SPEED}' of '.*zero_rate\.nwb' has "
                                                   r"rate=-5\.0 .* a positive finite rate"):
            TensorDataset.from_nwb(path, neural=SPEED)


# ----------------------------------------------------------------------------- units table


def test_units_whose_spikes_share_one_time_make_one_bin(tmp_path):
    path = _session(tmp_path / "one_spike.nwb", spikes=[[0.5]])
    dataset = TensorDataset.from_nwb(path, neural="units", bin_size=0.05)
    assert dataset.neural.numpy().tolist() == [[1]] and dataset.timestamps.tolist() == [0.525]
    counts, centres = spike_counts(path, 0.05)
    assert counts.tolist() == [[1]] and centres.tolist() == [0.525]
    with pytest.raises(ValueError, match=r"stop should be after start, .* 0\.5 s \(start\) to 0\.5 s "
                                         r"\(the last spike of the units of '.*one_spike\.nwb'\)"):
        spike_counts(path, 0.05, start=0.5)


def test_units_without_spikes_say_what_each_caller_can_do(tmp_path):
    path = _session(tmp_path / "no_spikes.nwb", spikes=[[], []])
    with pytest.raises(EmptyFileError, match=r"The 2 units in the units table of '.*no_spikes\.nwb' "
                                             r"have no spikes.*another neural series") as info:
        TensorDataset.from_nwb(path, neural="units", bin_size=0.05)
    assert "start=" not in str(info.value)  # from_nwb takes no start/stop
    with pytest.raises(EmptyFileError, match=r"no_spikes\.nwb.* pass start= and stop="):
        spike_counts(path, 0.05)
    assert spike_counts(path, 0.5, start=0.0, stop=1.0)[0].tolist() == [[0, 0], [0, 0]]


# ----------------------------------------------------------------------------- URLs and inspect


@pytest.mark.parametrize("url, problem", [
    ("https://[::1", "Invalid IPv6 URL"),
    ("http://127.0.0.1:99999/x.nwb", "Port out of range"),
])
def test_a_malformed_url_is_an_unsupported_url_error_naming_it(url, problem):
    for call in (lambda: TensorDataset.from_nwb(url, neural="units", bin_size=0.05),
                 lambda: inspect_file(url), lambda: read_timeseries(url, SPEED)):
        with pytest.raises(UnsupportedURLError, match="malformed") as info:
            call()
        assert repr(url) in str(info.value) and problem in str(info.value)


def test_inspect_reports_no_poses_for_a_corrupt_hdf5_file_without_poses(tmp_path):
    path = tmp_path / "corrupt.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("x", data=np.arange(8000.0).reshape(2000, 4), chunks=(500, 4),
                            compression="gzip")
    with h5py.File(path, "r") as file:
        chunk = file["x"].id.get_chunk_info(1)
    content = bytearray(path.read_bytes())
    content[chunk.byte_offset:chunk.byte_offset + chunk.size] = b"\xff" * chunk.size
    path.write_bytes(bytes(content))
    described = inspect_file(path)
    assert "poses" not in described
    assert described["entries"][0]["error"].startswith("OSError")


def test_the_demo_prints_one_line_naming_the_file(tmp_path, capsys):
    from cebra_data import cli

    path = tmp_path / "bare_version.nwb"
    with h5py.File(path, "w") as file:
        file.attrs["nwb_version"] = "2.7.0"
    code = cli.main(["demo", "--quiet", "--out", str(tmp_path), "--nwb", str(path), "--neural",
                     "units", "--bin-size", "0.05", "--behavior", POS])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("cebra-data: error: Could not read ")
    assert "bare_version.nwb" in err and len(err.splitlines()) == 1


def test_a_library_read_that_runs_out_of_memory_is_a_corrupt_file_naming_it():
    # a corrupted size field makes h5py allocate an absurd array; the read is the library's
    from cebra_data.errors import CorruptFileError
    from cebra_data.io.nwb import _library_errors

    with pytest.raises(CorruptFileError, match=r"the data of series 'x' of 's\.nwb' asked for "
                                               r"more memory") as info:
        with _library_errors("'s.nwb'", "the data of series 'x' of"):
            raise MemoryError()
    assert isinstance(info.value.__cause__, MemoryError)
