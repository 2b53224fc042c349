"""NWB files: time series and their clocks, binned spikes, inspect, and datasets on the neural clock."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import warnings

import h5py
import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import cli
from cebra_data import align, load_data
from cebra_data.errors import (
    CorruptFileError,
    MissingColumnError,
    MissingDependencyError,
    MissingKeyError,
    NonNumericDataError,
)
from cebra_data.io import inspect_file
from cebra_data.io import nwb as nwb_io
from cebra_data.io.nwb import read_timeseries, spike_counts
from cebra_data.nwb_dataset import UNCOVERED_LABEL, dataset_arrays_from_nwb, dataset_from_nwb

pynwb = pytest.importorskip("pynwb")
from pynwb.behavior import Position, SpatialSeries  # noqa: E402
from pynwb.file import Subject  # noqa: E402,F401
from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries  # noqa: E402

POS = "processing/behavior/Position/pos"
ROI = "processing/ophys/Fluorescence/dff"
LAP = "processing/behavior/lap"
SPEED = "acquisition/speed"
TRIAL = "acquisition/trial"
N_POS, N_ROI = 120, 75  # 0.5 .. 4.467 s at 30 Hz; 0 .. 4.933 s at 15 Hz


def _spikes(rng):
    return [np.sort(rng.uniform(0.0, 5.0, size=n)) for n in (40, 7, 23)]


def write_session(path, seed=0):
    """Units with known spikes, position at 30 Hz from 0.5 s, dF/F at 15 Hz, laps, speed."""
    rng = np.random.default_rng(seed)
    nwb = pynwb.NWBFile(session_description="test session", identifier=f"test-{seed}",
                        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    spikes = _spikes(rng)
    nwb.add_unit_column("quality", "curation label")
    for unit_id, times, quality in zip((3, 7, 11), spikes, ("good", "mua", "good")):
        nwb.add_unit(spike_times=times, id=unit_id, quality=quality)
    behavior = nwb.create_processing_module("behavior", "behaviour")
    position = rng.normal(size=(N_POS, 2)).cumsum(axis=0)
    behavior.add(Position(spatial_series=SpatialSeries(
        name="pos", data=position, reference_frame="arena", rate=30.0, starting_time=0.5)))
    laps = (np.arange(N_POS) // 30).astype(np.int64)
    behavior.add(pynwb.TimeSeries(name="lap", data=laps, unit="n/a",
                                  timestamps=0.5 + np.arange(N_POS) / 30.0))
    nwb.add_acquisition(pynwb.TimeSeries(name="speed", data=rng.normal(size=50), unit="m/s",
                                         timestamps=np.sort(rng.uniform(1.0, 3.0, size=50))))
    trial_times = np.concatenate([0.5 + np.arange(30) / 30.0, 3.0 + np.arange(30) / 30.0])
    nwb.add_acquisition(pynwb.TimeSeries(name="trial", data=np.repeat([1, 2], 30), unit="n/a",
                                         timestamps=trial_times))  # a 1.5 s gap at 1.5 .. 3 s
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=OpticalChannel(name="green", description="gcamp", emission_lambda=520.0),
        description="layer 2/3", device=device, excitation_lambda=920.0, indicator="GCaMP6f",
        location="CA1", imaging_rate=15.0)
    segmentation = ImageSegmentation()
    rois = segmentation.create_plane_segmentation(name="rois", description="cells", imaging_plane=plane)
    for _ in range(4):
        rois.add_roi(image_mask=rng.uniform(size=(8, 8)))
    ophys = nwb.create_processing_module("ophys", "calcium")
    ophys.add(segmentation)
    dff = rng.normal(size=(N_ROI, 4))
    region = rois.create_roi_table_region(region=[0, 1, 2, 3], description="all")
    ophys.add(Fluorescence(roi_response_series=RoiResponseSeries(
        name="dff", data=dff, rois=region, unit="dF/F", rate=15.0, starting_time=0.0)))
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return {"spikes": spikes, "position": position, "laps": laps, "dff": dff}


@pytest.fixture
def session(tmp_path):
    path = tmp_path / "session.nwb"
    truth = write_session(path)
    return path, truth


@pytest.fixture
def without_pynwb(monkeypatch):
    monkeypatch.setattr(nwb_io, "_pynwb", lambda: None)


# ----------------------------------------------------------------------------- series


def test_load_data_returns_a_series_time_first(session):
    path, truth = session
    np.testing.assert_array_equal(load_data(path, key=POS), truth["position"])
    np.testing.assert_array_equal(load_data(path, key="/" + ROI), truth["dff"])


def test_read_timeseries_clock_from_rate_or_timestamps(session):
    path, truth = session
    data, times = read_timeseries(path, POS)
    np.testing.assert_array_equal(data, truth["position"])
    np.testing.assert_allclose(times, 0.5 + np.arange(N_POS) / 30.0)
    _, times = read_timeseries(path, ROI)
    np.testing.assert_allclose(times, np.arange(N_ROI) / 15.0)
    labels, times = read_timeseries(path, LAP)
    np.testing.assert_array_equal(labels, truth["laps"])
    np.testing.assert_allclose(times, 0.5 + np.arange(N_POS) / 30.0)


def test_h5py_fallback_reads_the_same_series(session, without_pynwb):
    path, truth = session
    for key in (POS, ROI, LAP, SPEED):
        data, times = read_timeseries(path, key)
        assert key in [e["name"] for e in inspect_file(path)["entries"]]
    np.testing.assert_array_equal(load_data(path, key=POS), truth["position"])
    np.testing.assert_allclose(read_timeseries(path, ROI)[1], np.arange(N_ROI) / 15.0)
    with pytest.raises(MissingDependencyError, match="nwb"):
        spike_counts(path, 0.1)


def test_unknown_keys_list_the_series(session):
    path, _ = session
    with pytest.raises(MissingKeyError, match="processing/behavior/Position/pos"):
        read_timeseries(path, "processing/behavior/nope")
    with pytest.raises(MissingKeyError, match="spike_counts"):
        read_timeseries(path, "units")
    with pytest.raises(MissingKeyError, match="is a group"):
        load_data(path, key="processing/behavior")


def test_a_file_that_is_not_hdf5_is_corrupt(tmp_path):
    path = tmp_path / "broken.nwb"
    path.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(CorruptFileError):
        load_data(path)
    with pytest.raises(CorruptFileError):
        read_timeseries(path, POS)


# ----------------------------------------------------------------------------- spikes


def test_spike_counts_equal_numpy_histogram_per_unit(session):
    path, truth = session
    counts, centres = spike_counts(path, 0.25, start=0.0, stop=5.0)
    edges = np.arange(21) * 0.25
    assert counts.dtype == np.int64 and counts.shape == (20, 3)
    for unit, spikes in enumerate(truth["spikes"]):
        np.testing.assert_array_equal(counts[:, unit], np.histogram(spikes, bins=edges)[0])
    np.testing.assert_allclose(centres, edges[:-1] + 0.125)


def test_default_range_counts_every_spike(session):
    path, truth = session
    counts, centres = spike_counts(path, 0.01)
    every = np.concatenate(truth["spikes"])
    assert counts.sum() == every.size
    assert centres[0] == pytest.approx(every.min() + 0.005)
    assert centres[-1] + 0.005 >= every.max()


def test_units_by_id_and_by_column(session):
    path, truth = session
    edges = np.linspace(0.0, 5.0, 11)
    counts, _ = spike_counts(path, 0.5, units=[11, 3], start=0.0, stop=5.0)
    np.testing.assert_array_equal(counts[:, 0], np.histogram(truth["spikes"][2], bins=edges)[0])
    np.testing.assert_array_equal(counts[:, 1], np.histogram(truth["spikes"][0], bins=edges)[0])
    good, _ = spike_counts(path, 0.5, units={"quality": "good"}, start=0.0, stop=5.0)
    np.testing.assert_array_equal(good, counts[:, ::-1])
    with pytest.raises(MissingKeyError, match="ids are 3, 7, 11"):
        spike_counts(path, 0.5, units=[4])
    with pytest.raises(MissingColumnError, match="quality"):
        spike_counts(path, 0.5, units={"depth": 3})
    with pytest.raises(ValueError, match="matches"):
        spike_counts(path, 0.5, units={"quality": "noise"})


@pytest.mark.parametrize("kwargs, message", [
    ({"bin_size": 0}, "bin_size"), ({"bin_size": float("nan")}, "bin_size"),
    ({"bin_size": 0.1, "start": 2.0, "stop": 1.0}, "stop should be after start"),
    ({"bin_size": 0.1, "start": float("inf")}, "start"),
])
def test_spike_counts_bad_arguments(session, kwargs, message):
    path, _ = session
    with pytest.raises(ValueError, match=message):
        spike_counts(path, **kwargs)


# ----------------------------------------------------------------------------- inspect


def test_inspect_lists_series_with_rates_and_time_ranges(session):
    path, _ = session
    info = inspect_file(path)
    json.dumps(info)
    entries = {e["name"]: e for e in info["entries"]}
    assert entries[POS]["shape"] == [N_POS, 2] and entries[POS]["rate"] == 30.0
    assert entries[POS]["start_time"] == 0.5
    assert entries[POS]["stop_time"] == pytest.approx(0.5 + (N_POS - 1) / 30.0)
    assert entries[POS]["neurodata_type"] == "SpatialSeries"
    assert entries[ROI]["rate"] == 15.0 and entries[ROI]["neurodata_type"] == "RoiResponseSeries"
    assert entries[LAP]["clock"] == "timestamps" and entries[LAP]["rate"] == pytest.approx(30.0)
    assert info["units"]["ids"] == [3, 7, 11] and info["units"]["spikes"] == 70
    assert info["units"]["columns"] == ["quality"]


# ----------------------------------------------------------------------------- datasets


def _sampled(dataset, loader_type, **kwargs):
    loader = loader_type(dataset, num_steps=20, batch_size=64, seed=3, **kwargs)
    indices = []
    for _ in range(loader.num_steps):
        batch = loader.get_indices(64)
        indices += [batch.reference, batch.positive, batch.negative]
    return torch.cat([i.flatten() for i in indices]).numpy()


def test_from_nwb_labels_equal_align_and_uncovered_steps_are_never_sampled(session):
    path, truth = session
    ds = dataset_from_nwb(cebra_data.TensorDataset, path, neural=ROI, continuous=POS)
    roi_times = np.arange(N_ROI) / 15.0
    expected = align(truth["position"], 0.5 + np.arange(N_POS) / 30.0, roi_times)
    np.testing.assert_allclose(ds.continuous_index.numpy(), expected.astype(np.float32), equal_nan=True)
    np.testing.assert_allclose(ds.timestamps, roi_times)
    np.testing.assert_allclose(ds.neural.numpy(), truth["dff"].astype(np.float32))
    uncovered = np.isnan(expected).any(axis=1)
    assert uncovered.sum() == 8 + 7  # 0 .. 0.467 s before, 4.533 .. 4.933 s after the position
    assert ds.describe()["excluded"]["missing_label"] == uncovered.sum()
    assert "15 missing continuous labels" in ds.describe(as_text=True)
    sampled = _sampled(ds, cebra_data.ContinuousDataLoader)
    assert not uncovered[sampled].any()
    assert set(np.flatnonzero(~uncovered)) >= set(sampled) and len(set(sampled)) > 30


def test_from_nwb_binned_spikes_with_discrete_labels(session):
    path, truth = session
    arrays = dataset_arrays_from_nwb(path, "units", continuous=[POS, SPEED], discrete=LAP, bin_size=0.1)
    counts, centres = spike_counts(path, 0.1)
    np.testing.assert_array_equal(arrays.neural, counts)
    np.testing.assert_array_equal(arrays.timestamps, centres)
    speed, speed_times = read_timeseries(path, SPEED)
    covered = ~np.isnan(align(speed, speed_times, centres))  # the speed covers 1 .. 3 s only
    np.testing.assert_array_equal(arrays.covered, covered)
    assert np.isnan(arrays.continuous[~covered]).all() and not np.isnan(arrays.continuous[covered]).any()
    laps = align(truth["laps"], 0.5 + np.arange(N_POS) / 30.0, centres, method="nearest")
    np.testing.assert_array_equal(arrays.discrete[covered], laps[covered])
    assert (arrays.discrete[~covered & np.isnan(laps)] == UNCOVERED_LABEL).all()
    ds = dataset_from_nwb(cebra_data.TensorDataset, path, "units", [POS, SPEED], LAP, bin_size=0.1)
    assert ds.continuous_index.shape[1] == 3 and ds.num_excluded == (~covered).sum()
    sampled = _sampled(ds, cebra_data.MixedDataLoader)
    assert arrays.covered[sampled].all()


def test_from_nwb_discrete_only_cuts_the_uncovered_ends(session):
    path, truth = session
    with pytest.warns(UserWarning, match="the 8 steps before and 7 after are cut off"):
        ds = dataset_from_nwb(cebra_data.TensorDataset, path, ROI, discrete=LAP)
    roi_times = np.arange(N_ROI) / 15.0
    laps = align(truth["laps"], 0.5 + np.arange(N_POS) / 30.0, roi_times, method="nearest")
    kept = ~np.isnan(laps)
    np.testing.assert_allclose(ds.timestamps, roi_times[kept])
    np.testing.assert_array_equal(ds.discrete_index.numpy(), laps[kept].astype(int))
    np.testing.assert_allclose(ds.neural.numpy(), truth["dff"][kept].astype(np.float32))
    with pytest.raises(ValueError, match="max_gap"):
        dataset_from_nwb(cebra_data.TensorDataset, path, ROI, discrete=TRIAL, max_gap=0.5)
    with pytest.warns(UserWarning, match="cut off"):  # without max_gap the gap is bridged
        bridged = dataset_from_nwb(cebra_data.TensorDataset, path, ROI, discrete=TRIAL)
    assert bridged.timestamps[0] == pytest.approx(8 / 15) and bridged.timestamps[-1] <= 3.0 + 29 / 30


def test_from_nwb_argument_errors(session):
    path, _ = session
    with pytest.raises(ValueError, match="bin_size"):
        dataset_arrays_from_nwb(path, "units", continuous=POS)
    with pytest.raises(ValueError, match="only for neural='units'"):
        dataset_arrays_from_nwb(path, ROI, continuous=POS, bin_size=0.1)
    assert dataset_arrays_from_nwb(path, ROI).continuous is None  # neural only is fine
    with pytest.raises(TypeError, match="continuous"):
        dataset_arrays_from_nwb(path, ROI, continuous=[POS, 3])
    with pytest.raises(ValueError, match="integer labels"):
        dataset_arrays_from_nwb(path, ROI, discrete=SPEED)


# ----------------------------------------------------------------------------- guidance, policies


def test_units_and_interval_tables_say_how_to_read_them(session, tmp_path):
    path, _ = session
    with pytest.raises(NonNumericDataError, match=r"spike_counts\(path, bin_size\).*"
                                                  r"from_nwb\(path, neural='units', bin_size="):
        load_data(path, key="units")
    with pytest.raises(MissingKeyError, match=r"spike_counts.*neural='units'"):
        read_timeseries(path, "units")
    assert load_data(path).shape == (50,)  # the default entry is still the first series
    units = inspect_file(path)["units"]
    assert "spike_counts(path, bin_size)" in units["usage"] and "neural='units'" in units["usage"]
    trials_file = tmp_path / "trials.nwb"
    nwb = pynwb.NWBFile(session_description="t", identifier="t",
                        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    nwb.add_trial_column("stimulus", "cue")
    nwb.add_trial(start_time=0.0, stop_time=1.0, stimulus="left")
    nwb.add_acquisition(pynwb.TimeSeries(name="x", data=np.zeros(5), unit="a.u.", rate=5.0))
    with pynwb.NWBHDF5IO(trials_file, "w") as io:
        io.write(nwb)
    with pytest.raises(NonNumericDataError, match=r"trials='intervals/trials'.*"
                                                  r"discrete='intervals/trials/<column>'"):
        load_data(trials_file, key="intervals/trials")
    table = inspect_file(trials_file)["intervals"]["intervals/trials"]
    assert table["rows"] == 1 and table["columns"] == {"stimulus": "text"}
    assert table["usage"] == ("trials='intervals/trials', discrete='intervals/trials/<column>' "
                              "with <column> one of stimulus")


def _plain_hdf5(path):
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros(3)
    return path


@pytest.mark.parametrize("call", [
    lambda p: load_data(p), lambda p: read_timeseries(p, POS), lambda p: spike_counts(p, 0.1),
    lambda p: nwb_io.nwb_summary(p), lambda p: inspect_file(p),
    lambda p: cebra_data.TensorDataset.from_nwb(p, neural="units", bin_size=0.1),
], ids=["load_data", "read_timeseries", "spike_counts", "nwb_summary", "inspect_file", "from_nwb"])
def test_a_plain_hdf5_file_named_nwb_is_refused_by_name(tmp_path, call):
    path = _plain_hdf5(tmp_path / "plain.nwb")
    with pytest.raises(CorruptFileError, match=r"plain\.nwb' is an HDF5 file but not an NWB file"):
        call(path)


@pytest.fixture
def nan_spikes(tmp_path):
    path = tmp_path / "nan.nwb"
    nwb = pynwb.NWBFile(session_description="nan", identifier="nan",
                        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    nwb.add_unit(spike_times=[0.1, 0.2, 0.3], id=4)
    nwb.add_unit(spike_times=[0.1, np.nan, 0.5, np.nan], id=9)
    with pynwb.NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    return path


NAN_MESSAGE = r"NaN or infinite: unit 9 \(2\)"


@pytest.mark.parametrize("call", [
    lambda p: spike_counts(p, 0.1),
    lambda p: spike_counts(p, 0.1, units=[9], start=0.0, stop=1.0),
    lambda p: cebra_data.TensorDataset.from_nwb(p, neural="units", bin_size=0.1),
    lambda p: dataset_arrays_from_nwb(p, "units", bin_size=0.1),
], ids=["spike_counts", "spike_counts-range", "from_nwb", "dataset_arrays_from_nwb"])
def test_nan_spike_times_are_an_error_in_every_call_that_bins_them(nan_spikes, call):
    with pytest.raises(CorruptFileError, match=NAN_MESSAGE):
        call(nan_spikes)


def test_nan_spike_times_are_reported_by_summary_and_inspect(nan_spikes, capsys):
    assert re.search(NAN_MESSAGE, nwb_io.nwb_summary(nan_spikes)["units"]["error"])
    assert re.search(NAN_MESSAGE, inspect_file(nan_spikes)["units"]["error"])
    assert cli.main(["inspect", str(nan_spikes)]) == 0
    assert re.search("units table: unreadable .*" + NAN_MESSAGE, capsys.readouterr().out)


def _newer_namespaces(source, target):
    """A copy of ``source`` whose cached core schemas claim newer versions (another pynwb wrote it)."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        spec = handle["specifications"]
        for name in ("core", "hdmf-common"):
            (version,) = list(spec[name])
            handle.move(f"specifications/{name}/{version}", f"specifications/{name}/99.0.0")
            group = spec[name]["99.0.0"]
            text = group["namespace"][()]
            document = json.loads(text.decode() if isinstance(text, bytes) else text)
            for namespace in document["namespaces"]:
                if namespace["name"] == name:
                    namespace["version"] = "99.0.0"
            del group["namespace"]
            group["namespace"] = json.dumps(document)
    return target


def test_schema_version_chatter_of_other_pynwb_versions_is_silenced(session, tmp_path):
    path = _newer_namespaces(session[0], tmp_path / "newer.nwb")
    with pytest.warns(UserWarning, match=nwb_io.NAMESPACE_WARNING):  # pynwb itself warns
        with pynwb.NWBHDF5IO(path, "r", load_namespaces=True) as io:
            io.read()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under python -W error
        np.testing.assert_array_equal(read_timeseries(path, POS)[0],
                                      read_timeseries(session[0], POS)[0])
        load_data(path, key=POS)
        inspect_file(path)
        spike_counts(path, 0.1)
        dataset_from_nwb(cebra_data.TensorDataset, path, "units", POS, bin_size=0.1)
    # only that warning is silenced: others still reach the user
    with pytest.warns(UserWarning, match="unrelated"):
        with nwb_io._quiet_namespaces():
            warnings.warn("unrelated", UserWarning)
