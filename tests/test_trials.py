"""Trials: ragged construction, windows confined to trials for every loader, repeated stimuli,
and masked neural NaN."""


import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import (ContinuousDataLoader, ContinuousMultiSessionDataLoader, DatasetCollection,
                        DiscreteDataLoader, DiscreteMultiSessionDataLoader, FullDataLoader,
                        HybridDataLoader, MixedDataLoader, MixedMultiSessionDataLoader,
                        TensorDataset, UnifiedDataset, UnifiedLoader)
from cebra_data.trials import concatenate_trials, frame_in_trial, repeat_frame_labels, trial_starts

OFFSET = (3, 4)          # window of 7 steps
TIME_OFFSET = 10         # longer than the window: a loader that ignored trials would be caught
NUM_BATCHES = 40
BATCH = 128


def ragged_session(seed, num_neurons=6, num_trials=12, nan=True):
    """A session of trials of 14..40 steps; neural[:, 0] holds the time step, for window checks.

    A few continuous labels are NaN and (with ``nan``) two neural rows contain NaN, masked.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(14, 41, size=num_trials)
    neural, continuous, discrete = [], [], []
    for length in lengths:
        trial = rng.normal(size=(length, num_neurons)).astype(np.float32)
        neural.append(trial)
        continuous.append(np.cumsum(rng.normal(scale=0.1, size=(length, 2)), axis=0))
        discrete.append(rng.integers(0, 3, size=length))
    ds_parts = concatenate_trials(neural, continuous, discrete)
    n = len(ds_parts["trial_ids"])
    ds_parts["neural"][:, 0] = np.arange(n)
    cont = ds_parts["continuous"]
    cont[rng.choice(n, size=5, replace=False)] = np.nan
    if nan:
        ds_parts["neural"][rng.choice(np.arange(20, n - 20), size=2, replace=False), 2] = np.nan
    return TensorDataset(ds_parts["neural"], continuous=cont, discrete=ds_parts["discrete"],
                         offset=OFFSET, trial_ids=ds_parts["trial_ids"],
                         neural_nan="mask" if nan else "raise")


def allowed(ds):
    """Independent of sample_mask: steps whose whole window is inside one trial, with a finite
    label and no missing neural step."""
    n = len(ds)
    left, right = ds.offset
    trial = ds.trial_ids.numpy()
    missing = np.zeros(n, bool) if ds.neural_missing is None else ds.neural_missing.numpy()
    ok = ~np.isnan(ds.continuous.numpy()).any(axis=1)
    for i in range(n):
        window = np.arange(i - left, i + right)
        ok[i] &= window[0] >= 0 and window[-1] < n
        if ok[i]:
            ok[i] &= bool((trial[window] == trial[i]).all()) and not missing[window].any()
    return ok


def check_indices(ds, ok, index, name):
    index = torch.as_tensor(index).flatten().numpy()
    bad = index[~ok[index]]
    assert bad.size == 0, f"{name}: indices {bad[:5].tolist()} have a window outside their trial, a NaN label or a missing neural step"


def check_batch_windows(ds, batch):
    """Windows gathered for a batch come from one trial and hold no NaN."""
    trial = ds.trial_ids
    for tensor in (batch.reference, batch.positive, batch.negative):
        assert torch.isfinite(tensor).all()
        steps = tensor[:, 0, :].long()
        assert (trial[steps] == trial[steps[:, :1]]).all()


# -- construction ------------------------------------------------------------------------------


def test_from_trials_concatenates_ragged_trials():
    rng = np.random.default_rng(0)
    trials = [rng.normal(size=(t, 4)) for t in (5, 9, 3)]
    cont = [rng.normal(size=t) for t in (5, 9, 3)]
    ds = TensorDataset.from_trials(trials, continuous=cont, discrete=[2, 0, 1], trial_ids=[10, 11, 12])
    assert len(ds) == 17 and ds.num_trials == 3 and ds.trial_lengths == [5, 9, 3]
    assert ds.trial_ids.tolist() == [10] * 5 + [11] * 9 + [12] * 3
    assert ds.discrete.tolist() == [2] * 5 + [0] * 9 + [1] * 3
    assert ds.continuous.shape == (17, 1)
    assert np.allclose(ds.neural.numpy(), np.concatenate(trials).astype(np.float32))
    per_step = TensorDataset.from_trials(trials, discrete=[np.arange(t) for t in (5, 9, 3)])
    assert per_step.discrete.tolist() == list(range(5)) + list(range(9)) + list(range(3))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(neural_trials=[np.zeros((3, 2)), np.zeros((4, 3))], discrete=[0, 1]), ValueError,
         "same number of features, but got trial 0: 2, trial 1: 3"),
        (dict(neural_trials=[np.zeros((3, 2)), np.zeros((0, 2))], discrete=[0, 1]), ValueError,
         "neural trial 1 is empty"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2, continuous=[np.zeros(3), np.zeros(2)]), ValueError,
         "trial 1 has 3 neural time steps but 2 continuous rows"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2, discrete=[0]), ValueError,
         "discrete should have one entry per trial \\(2 neural trials\\), but got 1"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2, discrete=[0, np.zeros(3, int)]), ValueError,
         "mix of scalars and arrays"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2, discrete=[0.5, 1.5]), TypeError,
         "per-trial discrete labels should be integers"),
        (dict(neural_trials=np.zeros((2, 3, 2)), discrete=[0, 1]), TypeError, "list of per-trial arrays"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2, discrete=[0, 1], trial_ids=[4, 4]), ValueError,
         "trial_ids should be distinct"),
        (dict(neural_trials=[np.zeros((3, 2))] * 2), ValueError, "needs at least one index"),
    ],
)
def test_from_trials_says_what_is_wrong(kwargs, error, match):
    with pytest.raises(error, match=match):
        TensorDataset.from_trials(**kwargs)


def test_trial_helpers():
    assert trial_starts([3, 3, 1, 1, 1, 8]).tolist() == [0, 2, 5, 6]
    assert frame_in_trial([3, 3, 1, 1, 1, 8]).tolist() == [0, 1, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="trial\\(s\\) \\[3\\] appear in several separate blocks"):
        frame_in_trial([3, 3, 1, 3])


def test_direct_indexing_never_crosses_a_trial_border():
    ds = ragged_session(0, nan=False)
    windows = ds[torch.arange(len(ds))]            # every step, edge rule applied inside trials
    steps = windows[:, 0, :].long()
    assert (ds.trial_ids[steps] == ds.trial_ids[:, None]).all()
    assert ds.sample_mask().numpy().tolist() == allowed(ds).tolist()


# -- every loader keeps windows (and time positives) inside one trial ---------------------------


SINGLE_LOADERS = [
    ("discrete", lambda ds: DiscreteDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH, seed=1), None),
    ("continuous-time", lambda ds: ContinuousDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH,
                                                        conditional="time", seed=2), "all"),
    ("continuous-time_delta", lambda ds: ContinuousDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH,
                                                              conditional="time_delta", seed=3), None),
    ("continuous-delta_normal", lambda ds: ContinuousDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH,
                                                                conditional="delta_normal", delta=0.1,
                                                                seed=4), None),
    ("mixed", lambda ds: MixedDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH, seed=5), None),
    ("hybrid", lambda ds: HybridDataLoader(ds, num_steps=NUM_BATCHES, batch_size=BATCH, seed=6), "second-half"),
    ("full-time", lambda ds: FullDataLoader(ds, num_steps=3, conditional="time", seed=7), "all"),
    ("full-time_delta", lambda ds: FullDataLoader(ds, num_steps=3, seed=8), None),
]


@pytest.mark.parametrize("name, make, time_positives", SINGLE_LOADERS, ids=[s[0] for s in SINGLE_LOADERS])
def test_single_session_loaders_stay_inside_trials(name, make, time_positives):
    ds = ragged_session(10)
    ok = allowed(ds)
    loader = make(ds)
    trial = ds.trial_ids
    for step, batch_size in enumerate([loader.batch_size] * len(loader)):
        index = loader.get_indices(batch_size) if batch_size else loader.get_indices()
        for part in ("reference", "positive", "negative"):
            check_indices(ds, ok, getattr(index, part), f"{name} {part}")
        if time_positives is not None:
            positive = index.positive if time_positives == "all" else index.positive[len(index.reference):]
            assert (positive - index.reference == TIME_OFFSET).all(), name
            assert (trial[positive] == trial[index.reference]).all(), f"{name}: a time positive left its trial"
        if step == 0:
            check_batch_windows(ds, ds.load_batch(index))


def collection(kind=DatasetCollection):
    return kind([ragged_session(20 + s, num_neurons=5 + s) for s in range(3)])


MULTI_LOADERS = [
    ("multi-continuous-time_delta", lambda c: ContinuousMultiSessionDataLoader(
        c, num_steps=NUM_BATCHES, batch_size=64, seed=1), False),
    ("multi-continuous-time", lambda c: ContinuousMultiSessionDataLoader(
        c, num_steps=NUM_BATCHES, batch_size=64, conditional="time", seed=2), True),
    ("multi-discrete", lambda c: DiscreteMultiSessionDataLoader(c, num_steps=NUM_BATCHES, batch_size=64,
                                                                seed=3), False),
    ("multi-mixed", lambda c: MixedMultiSessionDataLoader(c, num_steps=NUM_BATCHES, batch_size=64, seed=4),
     False),
]


@pytest.mark.parametrize("name, make, time_positives", MULTI_LOADERS, ids=[m[0] for m in MULTI_LOADERS])
def test_multi_session_loaders_stay_inside_trials(name, make, time_positives):
    sessions = collection()
    oks = [allowed(s) for s in sessions.iter_sessions()]
    loader = make(sessions)
    for step in range(len(loader)):
        index = loader.get_indices()
        for s, session in enumerate(sessions.iter_sessions()):
            for part in ("reference", "positive", "negative"):
                check_indices(session, oks[s], getattr(index, part)[s], f"{name} session {s} {part}")
            if time_positives:
                ref, pos = index.reference[s], index.positive[s]
                assert (pos - ref == TIME_OFFSET).all()
                assert (session.trial_ids[pos] == session.trial_ids[ref]).all(), f"{name}: left its trial"
        if step == 0:
            for s, batch in enumerate(sessions.load_batch(index)):
                check_batch_windows(sessions.get_session(s), batch)


def test_unified_loader_stays_inside_trials():
    unified = collection(UnifiedDataset)
    oks = [allowed(s) for s in unified.iter_sessions()]
    loader = UnifiedLoader(unified, num_steps=NUM_BATCHES, batch_size=64, seed=0)
    for _ in range(len(loader)):
        index = loader.get_indices()
        for s in range(unified.num_sessions):
            session = unified.get_session(s)
            for part in ("reference", "positive", "negative"):
                check_indices(session, oks[s], getattr(index, part)[s], f"unified session {s} {part}")
    batch = unified.load_batch(index)
    assert torch.isfinite(batch.reference).all() and torch.isfinite(batch.positive).all()


# -- repeated stimuli ------------------------------------------------------------------------------


def test_repeat_frame_labels_pair_the_same_frame_of_the_same_stimulus():
    trial_ids = np.repeat(np.arange(6), [4, 3, 4, 3, 4, 2])
    labels, pairs = repeat_frame_labels(trial_ids, ["A", "B", "A", "B", "A", "B"], return_pairs=True)
    frames = frame_in_trial(trial_ids)
    stimulus = np.repeat(["A", "B", "A", "B", "A", "B"], [4, 3, 4, 3, 4, 2])
    for i in range(len(labels)):
        assert pairs[labels[i]] == (stimulus[i], frames[i])
        same = (stimulus == stimulus[i]) & (frames == frames[i])
        assert np.array_equal(labels == labels[i], same)
    by_trial = repeat_frame_labels(trial_ids, {0: "A", 1: "B", 2: "A", 3: "B", 4: "A", 5: "B"})
    assert np.array_equal(by_trial, labels)


def test_repeat_frame_labels_reports_labels_without_a_repeat():
    with pytest.warns(UserWarning, match="2 of 5 \\(stimulus, frame\\) labels occur in one time step only"):
        repeat_frame_labels([0, 0, 0, 1, 1, 1, 2, 2], ["A", "A", "B"])
    with pytest.raises(ValueError, match="one entry per trial \\(3 trials in trial_ids\\), but got 2"):
        repeat_frame_labels([0, 0, 1, 2], ["A", "B"])
    with pytest.raises(ValueError, match="trial\\(s\\) \\[2\\] have no entry"):
        repeat_frame_labels([0, 0, 1, 2], {0: "A", 1: "B"})


def test_discrete_loader_draws_the_same_frame_from_another_repeat():
    # 2 stimuli x 5 repeats of 30 frames; seed 0, 40 batches of 128 references.
    rng = np.random.default_rng(0)
    stimuli = {"A": rng.normal(size=(30, 4)), "B": rng.normal(size=(30, 4))}
    order = ["A", "B"] * 5
    trials = [stimuli[s] + 0.1 * rng.normal(size=(30, 4)) for s in order]
    labels = repeat_frame_labels(np.repeat(np.arange(10), 30), order)
    ds = TensorDataset(np.concatenate(trials), discrete=labels, trial_ids=np.repeat(np.arange(10), 30),
                       offset=(2, 2))
    loader = DiscreteDataLoader(ds, num_steps=40, batch_size=128, seed=0)
    frame = torch.as_tensor(frame_in_trial(ds.trial_ids))
    stimulus = torch.as_tensor([order[t] == "A" for t in ds.trial_ids.tolist()])
    other_repeat = total = 0
    for _ in range(len(loader)):
        index = loader.get_indices(128)
        assert (frame[index.positive] == frame[index.reference]).all()
        assert (stimulus[index.positive] == stimulus[index.reference]).all()
        other_repeat += int((ds.trial_ids[index.positive] != ds.trial_ids[index.reference]).sum())
        total += len(index.reference)
    # With 5 repeats a positive lies in another repeat with probability 4/5.
    assert abs(other_repeat / total - 0.8) < 0.03


# -- missing neural values ---------------------------------------------------------------------------


def test_neural_nan_is_rejected_unless_masked():
    neural = np.ones((30, 3), dtype=np.float32)
    neural[10, 1] = np.nan
    with pytest.raises(ValueError, match="1 NaN and 0 infinite .* neural_nan='mask'"):
        TensorDataset(neural, discrete=np.zeros(30, int))
    with pytest.raises(cebra_data.errors.UnknownChoiceError, match="neural_nan"):
        TensorDataset(neural, discrete=np.zeros(30, int), neural_nan="drop")
    neural_inf = neural.copy()
    neural_inf[3, 0] = np.inf
    with pytest.raises(ValueError, match="masks NaN, never infinite"):
        TensorDataset(neural_inf, discrete=np.zeros(30, int), neural_nan="mask")


def test_masked_neural_nan_never_reaches_a_batch():
    neural = np.ones((60, 3), dtype=np.float32)
    neural[[10, 40], 1] = np.nan
    before = neural.copy()
    ds = TensorDataset(neural, continuous=np.arange(60.0), offset=(2, 3), neural_nan="mask")
    assert np.array_equal(neural, before, equal_nan=True)          # the input is untouched
    assert ds.num_missing_neural == 2 and torch.isfinite(ds.neural).all()
    expected = np.zeros(60, bool)
    for m in (10, 40):
        expected[m - 2: m + 3] = True                              # windows [i - 2, i + 3) touching m
    assert ds.excluded_mask.numpy().tolist() == expected.tolist()
    assert ds.num_excluded == 10
    assert not ds.sample_mask()[expected].any()
    loader = ContinuousDataLoader(ds, num_steps=20, batch_size=64, conditional="time", time_offset=4, seed=0)
    for batch in loader:
        for tensor in (batch.reference, batch.positive, batch.negative):
            assert torch.isfinite(tensor).all() and (tensor == 1).all()   # never the zero-filled values
    ds.offset = (0, 1)                                             # the exclusion follows the offset
    assert ds.excluded_mask.nonzero().flatten().tolist() == [10, 40]
    summary = ds.describe()
    assert summary["excluded"] == {"total": 2, "missing_label": 0, "missing_neural": 2}
    assert "windows touching 2 time steps with missing neural values" in ds.describe(as_text=True)


def test_exclusions_combine_labels_and_neural():
    neural = np.zeros((20, 2), dtype=np.float32)
    neural[5, 0] = np.nan
    continuous = np.arange(20.0)
    continuous[15] = np.nan
    ds = TensorDataset(neural, continuous=continuous, neural_nan="mask")
    assert ds.excluded_mask.nonzero().flatten().tolist() == [5, 15]
    assert (ds.num_missing_labels, ds.num_missing_neural, ds.num_excluded) == (1, 1, 2)
