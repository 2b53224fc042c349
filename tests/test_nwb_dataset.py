"""TensorDataset.from_nwb on a real-shaped session: neural only, trials, interval labels."""

from __future__ import annotations

import sys
import pathlib
import warnings

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data.errors import MissingColumnError, MissingKeyError
from cebra_data.io.nwb import read_timeseries, spike_counts
from cebra_data.io.nwb_intervals import OverlappingIntervalsError

pytest.importorskip("pynwb")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "io"))
from _nwb_sessions import (  # noqa: E402
    CHOICE,
    CORRECT,
    EPOCHS,
    POS,
    STIMULI,
    TRIALS,
    trial_times,
    write_session,
)

BIN = 0.05


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    path = tmp_path_factory.mktemp("nwb") / "session.nwb"
    write_session(path)
    return path


def from_nwb(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these calls needs to warn
        return cebra_data.TensorDataset.from_nwb(path, **kwargs)


def test_neural_only_equals_spike_counts_and_the_series(session):
    dataset = from_nwb(session, neural="units", bin_size=BIN)
    counts, centres = spike_counts(session, BIN)
    np.testing.assert_array_equal(dataset.neural.numpy(), counts.astype(np.float32))
    np.testing.assert_array_equal(dataset.timestamps, centres)
    # a dataset needs an index: the neural time, for time-contrastive sampling
    np.testing.assert_allclose(dataset.continuous_index[:, 0].numpy(), centres.astype(np.float32))
    assert dataset.discrete_index is None and dataset.num_excluded == 0
    series = from_nwb(session, neural=POS)
    data, times = read_timeseries(session, POS)
    np.testing.assert_array_equal(series.neural.numpy(), data.astype(np.float32))
    np.testing.assert_array_equal(series.timestamps, times)
    loader = cebra_data.ContinuousDataLoader(dataset, num_steps=2, batch_size=16,
                                             conditional="time", seed=0)
    assert next(iter(loader)).reference.shape == (16, 4, 1)


def test_trials_keep_the_rows_inside_intervals_and_number_them(session):
    dataset = from_nwb(session, neural="units", bin_size=BIN, continuous=POS, trials=TRIALS)
    counts, centres = spike_counts(session, BIN)
    start, stop = trial_times()
    inside = (centres[:, None] >= start) & (centres[:, None] < stop)
    expected_rows = inside.any(axis=1)
    np.testing.assert_array_equal(dataset.timestamps, centres[expected_rows])
    np.testing.assert_array_equal(dataset.neural.numpy(), counts[expected_rows].astype(np.float32))
    np.testing.assert_array_equal(dataset.trial_ids.numpy(), inside[expected_rows].argmax(axis=1))
    assert set(dataset.trial_ids.tolist()) == set(range(len(start)))
    # windows never cross a trial border, and a split by trial keeps trials whole
    windowed = from_nwb(session, neural="units", bin_size=BIN, continuous=POS, trials=TRIALS,
                        offset=cebra_data.Offset(2, 3))
    loader = cebra_data.ContinuousDataLoader(windowed, num_steps=5, batch_size=256,
                                             conditional="time_delta", seed=1)
    trials = windowed.trial_ids
    for _ in range(5):
        index = loader.get_indices(256)
        for rows in (index.reference, index.positive, index.negative):
            window = rows[:, None] + torch.arange(-2, 3)
            assert bool((trials[window] == trials[rows][:, None]).all())
    split = cebra_data.split_dataset(dataset, (0.5, 0.5), by="trial", seed=0)
    train, test = set(split.train.trial_ids.tolist()), set(split.test.trial_ids.tolist())
    assert train and test and not train & test and train | test == set(range(len(start)))


@pytest.mark.parametrize("column, values, categories", [
    ("stimulus", STIMULI, ("left", "none", "right")),
    ("correct", CORRECT, (False, True)),
    ("choice", CHOICE, None),
])
def test_interval_columns_as_discrete_labels(session, column, values, categories):
    dataset = from_nwb(session, neural="units", bin_size=BIN, discrete=f"{TRIALS}/{column}")
    _, centres = spike_counts(session, BIN)
    start, stop = trial_times()
    inside = (centres[:, None] >= start) & (centres[:, None] < stop)
    trial = inside[inside.any(axis=1)].argmax(axis=1)
    np.testing.assert_array_equal(dataset.timestamps, centres[inside.any(axis=1)])
    labels = dataset.discrete_index.numpy()
    assert dataset.discrete_categories == categories
    decoded = [categories[c] for c in labels] if categories else labels.tolist()
    assert decoded == [values[t] for t in trial]
    assert dataset.continuous_index is None


def test_behaviour_beside_trials_and_labels(session):
    dataset = from_nwb(session, neural="units", bin_size=BIN, continuous=POS, trials=TRIALS,
                       discrete=f"{TRIALS}/stimulus")
    position, clock = read_timeseries(session, POS)
    expected = cebra_data.align(position, clock, dataset.timestamps, method="linear")
    np.testing.assert_allclose(dataset.continuous_index.numpy(), expected.astype(np.float32))
    assert len(dataset) == len(dataset.discrete_index) == len(dataset.trial_ids)


def test_epochs_are_trials_too_and_overlaps_are_refused(session, tmp_path):
    epochs = from_nwb(session, neural="units", bin_size=BIN, trials=EPOCHS)
    assert set(epochs.trial_ids.tolist()) == {0, 1}
    overlapping = tmp_path / "overlapping.nwb"
    write_session(overlapping, overlapping_epochs=True)
    for kwargs in ({"trials": EPOCHS}, {"discrete": f"{EPOCHS}/tags"}):
        with pytest.raises(OverlappingIntervalsError, match=r"overlap .*row 0, 0 \.\. 8 s.*row 1, 7 \.\. 17 s"):
            from_nwb(overlapping, neural="units", bin_size=BIN, **kwargs)


def test_interval_argument_errors(session, tmp_path):
    with pytest.raises(MissingKeyError, match="intervals/trials"):
        from_nwb(session, neural="units", bin_size=BIN, trials="intervals/trial")
    with pytest.raises(MissingColumnError, match="'stimulus', 'correct', 'choice'"):
        from_nwb(session, neural="units", bin_size=BIN, discrete=f"{TRIALS}/side")
    with pytest.raises(MissingColumnError, match="several values"):
        from_nwb(session, neural="units", bin_size=BIN, discrete=f"{EPOCHS}/tags")
    with pytest.raises(ValueError, match="name one of its columns"):
        from_nwb(session, neural="units", bin_size=BIN, discrete=TRIALS)
    with pytest.raises(TypeError, match="trials should be the object path"):
        from_nwb(session, neural="units", bin_size=BIN, trials=1)
    import datetime

    import pynwb

    nwb = pynwb.NWBFile(session_description="late trials", identifier="late",
                        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    nwb.add_acquisition(pynwb.TimeSeries(name="dff", data=np.zeros((20, 3)), unit="a.u.", rate=20.0))
    nwb.add_trial(start_time=5.0, stop_time=6.0)
    with pynwb.NWBHDF5IO(tmp_path / "late.nwb", "w") as io:
        io.write(nwb)
    with pytest.raises(ValueError, match=r"No neural time step .*\(0 \.\. 0\.95 s\) lies inside an "
                                         r"interval of 'intervals/trials'"):
        from_nwb(tmp_path / "late.nwb", neural="acquisition/dff", trials=TRIALS)
