"""split_dataset: parts share no window, gaps are kept and reported, assignments are seeded."""

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data import (ContinuousDataLoader, DatasetCollection, Normalizer, TensorDataset,
                        split_dataset)


def timed(n=1000, offset=(5, 5), trial_lengths=None, num_neurons=3):
    """A dataset whose neural[:, 0] is the time step, so windows reveal where they come from."""
    neural = np.zeros((n, num_neurons), dtype=np.float32)
    neural[:, 0] = np.arange(n)
    trial_ids = None if trial_lengths is None else np.repeat(np.arange(len(trial_lengths)), trial_lengths)
    return TensorDataset(neural, continuous=np.arange(n, dtype=float), discrete=np.arange(n) % 4,
                         offset=offset, trial_ids=trial_ids)


def original_windows(part):
    """Original time steps covered by the window of every sample of a part, measured in the
    original recording (not clamped into the part)."""
    left, right = part.offset
    src = part.source_index
    return (src[:, None] + torch.arange(-left, right)[None, :]).flatten()


def assert_no_shared_window(split):
    for a in range(len(split)):
        for b in range(a + 1, len(split)):
            wa, wb = set(original_windows(split[a]).tolist()), set(original_windows(split[b]).tolist())
            assert not wa & wb, f"parts {split.names[a]} and {split.names[b]} share time steps"


def assert_windows_from_own_samples(part):
    """Every window gathered from the part (edge rule included) holds only the part's samples."""
    windows = part[torch.arange(len(part))][:, 0, :].long()        # original time steps
    assert set(windows.flatten().tolist()) <= set(part.source_index.tolist())


def test_default_time_split_is_chronological_with_reported_gaps():
    ds = timed()
    split = split_dataset(ds)
    train, validation, test = split
    assert split.names == ("train", "validation", "test") and split.by == "time"
    assert [len(p) for p in split] == [784, 98, 98] and split.gap == 10 and split.dropped == 20
    assert [(g["start"], g["stop"], g["reason"], g["between"]) for g in split.gaps] == [
        (784, 794, "gap", ("train", "validation")), (892, 902, "gap", ("validation", "test"))]
    assert train.source_index.tolist() == list(range(784))
    assert test.source_index.tolist() == list(range(902, 1000))
    assert (train.held_out, validation.held_out, test.held_out) == (False, True, True)
    assert split.train is train and split["test"] is test and split[1] is validation
    assert split.seed is None                                       # nothing random
    assert torch.equal(test.neural[:, 0], test.source_index.float())
    assert torch.equal(test.continuous[:, 0], test.source_index.float())
    assert_no_shared_window(split)
    for part in split:
        assert_windows_from_own_samples(part)
    assert ds.split_part is None and len(ds) == 1000                # the input is untouched


@pytest.mark.parametrize("offset", [(0, 1), (3, 7), (12, 1)])
def test_minimal_gap_still_shares_no_window(offset):
    ds = timed(offset=offset)
    window = ds.offset.left + ds.offset.right
    split = split_dataset(ds, (0.5, 0.5), gap=window - 1)
    assert split.dropped == window - 1
    assert_no_shared_window(split)
    if window >= 2:
        with pytest.raises(ValueError, match=f"gap should be at least len\\(offset\\) - 1 = {window - 1}"):
            split_dataset(ds, (0.5, 0.5), gap=window - 2)


def test_shuffled_time_blocks_are_seeded_and_never_joined_by_a_window():
    ds = timed(n=1200)
    split = split_dataset(ds, (0.6, 0.2, 0.2), num_blocks=10, seed=3)
    again = split_dataset(ds, (0.6, 0.2, 0.2), num_blocks=10, seed=3)
    other = split_dataset(ds, (0.6, 0.2, 0.2), num_blocks=10, seed=4)
    assert split.assignment == again.assignment and split.assignment != other.assignment
    assert sorted(split.assignment[0]) == [0] * 6 + [1] * 2 + [2] * 2
    assert len(split.gaps) == 9 and all(g["length"] == 10 for g in split.gaps)
    assert sum(len(p) for p in split) + split.dropped == 1200
    assert_no_shared_window(split)
    for part in split:
        assert_windows_from_own_samples(part)
        # each block became a trial: sampled windows never join two blocks
        mask = part.sample_mask()
        left, right = part.offset
        src = part.source_index
        for i in mask.nonzero().flatten().tolist():
            assert src[i + right - 1] - src[i - left] == left + right - 1
    assert split.train.num_trials == 6


def test_trial_split_keeps_whole_trials_and_records_the_seed():
    lengths = [30, 50, 40, 35, 45, 60, 25, 55, 40, 20]
    ds = timed(n=sum(lengths), trial_lengths=lengths)
    split = split_dataset(ds, (0.6, 0.2, 0.2), by="trial")
    assert isinstance(split.seed, int) and split.gaps == [] and split.dropped == 0 and split.gap == 0
    again = split_dataset(ds, (0.6, 0.2, 0.2), by="trial", seed=split.seed)
    assert again.assignment == split.assignment
    trial_sets = [set(p.trial_ids.tolist()) for p in split]
    assert [len(s) for s in trial_sets] == [6, 2, 2]
    assert set.union(*trial_sets) == set(range(10)) and sum(len(p) for p in split) == len(ds)
    for part in split:
        for t in set(part.trial_ids.tolist()):                      # every trial is complete
            assert int((part.trial_ids == t).sum()) == lengths[t]
        assert_windows_from_own_samples(part)
    for part in split:                  # adjacent trials may touch, but no window crosses a border
        mask = part.sample_mask()
        left, right = part.offset
        idx = mask.nonzero().flatten()
        window = idx[:, None] + torch.arange(-left, right)[None, :]
        assert (part.trial_ids[window] == part.trial_ids[idx][:, None]).all()


def test_explicit_parts_by_time_and_by_trial():
    ds = timed(n=500)
    split = split_dataset(ds, parts={"fit": (0, 300), "check": [(320, 400), (420, 500)]})
    assert split.names == ("fit", "check") and len(split.check) == 160
    assert [(g["start"], g["stop"], g["reason"]) for g in split.gaps] == [
        (300, 320, "unassigned"), (400, 420, "unassigned")]
    assert split.check.num_trials == 2                              # two separate ranges
    with pytest.raises(ValueError, match="are 5 time steps apart, but parts must be at least 9 apart"):
        split_dataset(ds, parts={"train": (0, 300), "test": (305, 400)})
    with pytest.raises(ValueError, match="overlap"):
        split_dataset(ds, parts={"train": (0, 300), "test": (250, 400)})
    with pytest.raises(ValueError, match="0 <= start < stop <= 500"):
        split_dataset(ds, parts={"train": (0, 600)})
    trials = timed(n=100, trial_lengths=[20, 30, 25, 25])
    split = split_dataset(trials, by="trial", parts={"train": [0, 3], "test": [2]})
    assert split.train.trial_ids.unique().tolist() == [0, 3] and split.test.trial_ids.unique().tolist() == [2]
    assert [(g["start"], g["stop"], g["reason"]) for g in split.gaps] == [(20, 50, "unassigned")]
    with pytest.raises(ValueError, match="trial 7 is not in the dataset"):
        split_dataset(trials, by="trial", parts={"train": [0, 7]})
    with pytest.raises(ValueError, match="assigned to both 'train' and 'test'"):
        split_dataset(trials, by="trial", parts={"train": [0, 1], "test": [1]})


def test_collections_split_per_session():
    sessions = DatasetCollection([timed(n=n, num_neurons=d) for n, d in [(400, 3), (600, 5)]])
    split = split_dataset(sessions, (0.5, 0.5), num_blocks=4, seed=0)
    assert all(isinstance(p, DatasetCollection) and p.num_sessions == 2 for p in split)
    assert [g["session"] for g in split.gaps] == [0, 0, 0, 1, 1, 1]
    assert split.test.get_input_dimension(1) == 5 and split.test.held_out and not split.train.held_out
    assert len(split.assignment) == 2
    per_session = split_dataset(sessions, parts=[{"train": (0, 200), "test": (300, 400)},
                                                 {"train": (0, 500), "test": (520, 600)}])
    assert per_session.test.session_lengths == [100, 80]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(fractions=(0.5, 0.6)), ValueError, "fractions should sum to 1"),
        (dict(fractions=(1.0,)), ValueError, "at least two parts"),
        (dict(fractions=(1.2, -0.2)), ValueError, "fractions should be positive"),
        (dict(fractions=(0.5, 0.3, 0.1, 0.1)), ValueError, "names are required for a split into 4 parts"),
        (dict(fractions=(0.5, 0.5), names=("a", "a")), ValueError, "names should be distinct"),
        (dict(fractions=(0.5, 0.5), names=("train", "gaps")), ValueError, "'gaps' cannot be a part name"),
        (dict(by="trial"), ValueError, "by='trial' needs trial_ids"),
        (dict(by="session"), cebra_data.errors.UnknownChoiceError, "Valid choices are: 'time', 'trial'"),
        (dict(num_blocks=2), ValueError, "num_blocks should be an integer >= 3"),
        (dict(fractions=(0.5, 0.5), parts={"a": (0, 10)}), ValueError, "either fractions or explicit parts"),
        (dict(num_blocks=90), ValueError, "cannot hold 90 blocks"),
        # fractions must be numbers: no mapping, text or booleans turned into numbers
        (dict(fractions={"train": 0.5, "test": 0.5}), TypeError,
         r"fractions should be a sequence of numbers .* but got a dict .* names=\.\.\."),
        (dict(fractions=("0.5", "0.5")), TypeError, r"but got '0\.5' of type str in \('0\.5', '0\.5'\)"),
        (dict(fractions=(True, False)), TypeError, "but got True of type bool"),
        (dict(fractions=[[0.5, 0.5]]), TypeError, "but got \\[0.5, 0.5\\] of type list"),
        # the seed is checked for every split, also one that does not use it
        (dict(fractions=(0.5, 0.5), seed=-1), ValueError,
         "seed should be None or a non-negative integer, but got seed=-1"),
        (dict(fractions=(0.5, 0.5), seed=1.5), TypeError, "seed=1.5 of type float"),
        (dict(fractions=(0.5, 0.5), seed="a"), TypeError, "seed='a' of type str"),
        (dict(fractions=(0.5, 0.5), seed=True), TypeError, "seed=True of type bool"),
        (dict(fractions=(0.5, 0.5), num_blocks=4, seed=-1), ValueError, "but got seed=-1"),
    ],
)
def test_split_says_what_is_wrong(kwargs, error, match):
    with pytest.raises(error, match=match):
        split_dataset(timed(n=1000), **kwargs)


def test_numeric_fractions_of_any_container_are_accepted():
    for fractions in ([0.5, 0.5], np.array([0.5, 0.5]), torch.tensor([0.5, 0.5]), (np.float32(0.5), 0.5)):
        split = split_dataset(timed(n=1000), fractions)
        assert split.names == ("train", "test") and len(split.train) == len(split.test)


def test_a_seed_given_to_a_split_without_randomness_is_checked_but_unused():
    split = split_dataset(timed(n=1000), (0.5, 0.5), seed=3)
    assert split.seed is None
    assert split.train.source_index.tolist() == split_dataset(timed(n=1000), (0.5, 0.5)).train.source_index.tolist()


def test_too_short_part_and_too_few_trials_are_errors():
    with pytest.raises(ValueError, match="part 'validation' would get a block of 8 time steps, fewer than one window"):
        split_dataset(timed(n=130), (0.86, 0.07, 0.07))
    with pytest.raises(ValueError, match="cannot split 2 trials into 3 parts"):
        split_dataset(timed(n=40, trial_lengths=[20, 20]), by="trial", seed=0)


def test_splitting_a_dataset_normalised_as_a_whole_warns():
    rng = np.random.default_rng(0)
    ds = Normalizer().fit_transform(TensorDataset(rng.normal(size=(300, 3)), discrete=np.zeros(300, int)))
    with pytest.warns(UserWarning, match="normalised with statistics of the whole, unsplit recording"):
        split_dataset(ds)


def test_loaders_on_a_test_part_only_draw_its_own_samples():
    split = split_dataset(timed(n=2000), (0.5, 0.5), num_blocks=6, seed=1)
    test = split.test
    loader = ContinuousDataLoader(test, num_steps=10, batch_size=64, conditional="time", time_offset=5, seed=0)
    for batch in loader:
        steps = torch.cat([batch.reference, batch.positive, batch.negative])[:, 0, :].long()
        assert set(steps.flatten().tolist()) <= set(test.source_index.tolist())
        # a time positive never jumps across a removed block
        assert torch.equal(batch.positive[:, 0, 0] - batch.reference[:, 0, 0], torch.full((64,), 5.0))


def test_a_part_can_be_split_again_and_keeps_its_origin():
    train = split_dataset(timed(), (0.8, 0.2)).train
    inner = split_dataset(train, (0.75, 0.25))
    assert inner.train.source_index[0] == 0 and inner.test.held_out
    assert int(inner.test.source_index[-1]) == int(train.source_index[-1])


class _NotATensorDataset(cebra_data.SingleSessionDataset):
    """A valid dataset that is not a TensorDataset: split_dataset cannot cut it into parts."""

    def __len__(self):
        return 100

    @property
    def input_dimension(self):
        return 2

    @property
    def continuous_index(self):
        return torch.zeros(100, 1)

    def __getitem__(self, index):
        return torch.zeros(len(index), 2, len(self.offset))


def test_other_dataset_types_are_rejected_with_a_type_error():
    # an array is refused before its (missing) offset is read
    with pytest.raises(TypeError, match="supports TensorDataset .* as dataset, but got a ndarray\\."):
        split_dataset(np.zeros((10, 2)), (0.5, 0.5))
    with pytest.raises(TypeError, match="supports TensorDataset .* got a _NotATensorDataset\\."):
        split_dataset(_NotATensorDataset())
    collection = DatasetCollection([TensorDataset(np.zeros((100, 2)), continuous=np.zeros(100)),
                                    _NotATensorDataset()])
    with pytest.raises(TypeError, match="got a _NotATensorDataset \\(session 1\\)"):
        split_dataset(collection)
