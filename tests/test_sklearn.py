"""The estimator adapter: SklearnDataset's input rules and make_loader's decision table."""

import itertools

import numpy as np
import pytest
import torch

import cebra_data
from cebra_data.sklearn import (
    LOADER_TABLE,
    SklearnDataset,
    UnsupportedCombinationError,
    make_loader,
    select_loader,
)

N = 200


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def X(rng):
    return rng.normal(size=(N, 12)).astype(np.float32)


# --------------------------------------------------------------------------- SklearnDataset


def test_float_labels_are_continuous_in_order_and_one_integer_label_is_discrete(X, rng):
    speed = rng.uniform(size=N)
    position = rng.uniform(size=(N, 2))
    direction = rng.integers(0, 3, size=N)
    ds = SklearnDataset(X, (speed, direction, position))
    assert ds.continuous_index.shape == (N, 3)
    assert ds.continuous_index.dtype == torch.float32
    np.testing.assert_allclose(ds.continuous_index[:, 0].numpy(), speed, rtol=1e-6)
    np.testing.assert_allclose(ds.continuous_index[:, 1:].numpy(), position, rtol=1e-6)
    assert ds.discrete_index.dtype == torch.long
    assert ds.discrete_index.tolist() == direction.tolist()
    assert (ds.continuous_index_dimensions, ds.discrete_index_dimensions) == (3, 1)
    assert ds.total_index_dimensions == 4
    assert isinstance(ds, cebra_data.TensorDataset)


def test_boolean_label_is_a_discrete_index(X, rng):
    ds = SklearnDataset(X, (rng.random(N) > 0.5,))
    assert ds.continuous_index is None
    assert set(ds.discrete_index.tolist()) == {0, 1}


def test_read_only_float32_inputs_are_shared_not_copied(X, rng):
    position = rng.uniform(size=(N, 1)).astype(np.float32)
    X.flags.writeable = False
    position.flags.writeable = False
    ds = SklearnDataset(X, (position,))
    assert ds.neural.data_ptr() == X.ctypes.data
    assert ds.continuous_index.data_ptr() == position.ctypes.data
    assert not X.flags.writeable  # the user's array is left as it was


def test_float64_and_tensor_inputs_are_converted(rng):
    X64 = rng.normal(size=(N, 5))
    ds = SklearnDataset(torch.as_tensor(X64), (torch.arange(N) % 2,))
    assert ds.neural.dtype == torch.float32
    np.testing.assert_allclose(ds.neural.numpy(), X64, rtol=1e-6)
    assert ds.discrete_index.tolist() == (np.arange(N) % 2).tolist()


def test_no_labels_gives_a_dataset_without_index(X):
    ds = SklearnDataset(X, ())
    assert ds.continuous_index is None and ds.discrete_index is None
    assert ds.total_index_dimensions == 0
    assert len(ds) == N and ds.input_dimension == 12
    assert repr(ds).startswith("SklearnDataset(N=200, input_dimension=12, Offset(")
    # the rest of the data layer treats it as a label-free TensorDataset
    train, test = cebra_data.split_dataset(ds, (0.8, 0.2), names=("train", "test"))
    assert isinstance(train, SklearnDataset) and train.continuous_index is None


@pytest.mark.parametrize(
    "make_X, make_y, error, match",
    [
        (lambda X: X[:, 0], lambda X: (), ValueError,
         r"Expected 2D array, got 1D array instead.*array\.reshape\(-1, 1\)"),
        (lambda X: X.reshape(N, 3, 4), lambda X: (), ValueError, r"Found array with dim 3"),
        (lambda X: X, lambda X: (np.zeros(N - 1),), ValueError,
         r"Found input variables with inconsistent numbers of samples: \[200, 199\]"),
        (lambda X: X[:1], lambda X: (), ValueError,
         r"Found array with 1 sample\(s\) \(shape=\(1, 12\)\) while a minimum of 2 is required"),
        (lambda X: X[:, :0], lambda X: (), ValueError, r"Found array with 0 feature\(s\)"),
        (lambda X: np.where(np.arange(N)[:, None] == 3, np.nan, X), lambda X: (), ValueError,
         r"Input X contains NaN"),
        (lambda X: np.where(np.arange(N)[:, None] == 3, np.inf, X), lambda X: (), ValueError,
         r"Input X contains infinity"),
        (lambda X: X, lambda X: (np.r_[np.nan, np.zeros(N - 1)],), ValueError,
         r"Input y\[0\] contains NaN"),
        (lambda X: X, lambda X: [np.zeros(N)], TypeError, r"Expected a tuple of label arrays"),
        (lambda X: X, lambda X: None, ValueError, r"Labels cannot be None"),
        (lambda X: X, lambda X: (np.zeros(N, int), np.ones(N, int)), ValueError,
         r"At most one discrete \(integer\) index is allowed, but got 2 \(y\[0, 1\]\)"),
        (lambda X: X, lambda X: (np.zeros((N, 2), int),), ValueError,
         r"A discrete index must be one-dimensional"),
        (lambda X: X.astype(str), lambda X: (), ValueError, r"X should hold numbers"),
        (lambda X: X.astype(np.complex64), lambda X: (), ValueError, r"Complex data not supported"),
        (lambda X: X, lambda X: (np.zeros((N, 2, 2)),), ValueError, r"Found array with dim 3 for y\[0\]"),
    ],
    ids=["1d", "3d", "lengths", "one-sample", "no-feature", "nan", "inf", "nan-label",
         "list-labels", "none-labels", "two-discrete", "2d-discrete", "strings", "complex",
         "3d-label"],
)
def test_invalid_inputs_raise_sklearn_style_messages(X, make_X, make_y, error, match):
    with pytest.raises(error, match=match):
        SklearnDataset(make_X(X), make_y(X))


# --------------------------------------------------------------------------- make_loader

# CEBRA's _init_loader, written out independently of LOADER_TABLE:
# (multi, continuous, discrete, full, hybrid) -> loader class name
EXPECTED = {
    (False, False, False, False, False): "ContinuousDataLoader",
    (False, False, False, True, False): "FullDataLoader",
    (False, True, False, False, False): "ContinuousDataLoader",
    (False, True, False, False, True): "HybridDataLoader",
    (False, True, False, True, False): "FullDataLoader",
    (False, False, True, False, False): "DiscreteDataLoader",
    (False, True, True, False, False): "MixedDataLoader",
    (True, True, False, False, False): "ContinuousMultiSessionDataLoader",
}
COMBINATIONS = list(itertools.product([False, True], repeat=5))


def _data(multi, continuous, discrete, seed=0):
    rng = np.random.default_rng(seed)

    def one(n):
        y = []
        if continuous:
            y.append(rng.uniform(size=(n, 1)))
        if discrete:
            y.append(rng.integers(0, 2, size=n))
        return SklearnDataset(rng.normal(size=(n, 6)).astype(np.float32), tuple(y))

    return [one(150), one(180)] if multi else one(N)


def test_table_mirrors_cebra():
    assert {k: v.loader.__name__ for k, v in LOADER_TABLE.items()} == EXPECTED


@pytest.mark.parametrize("key", COMBINATIONS, ids=lambda k: "-".join(
    name for name, flag in zip(("multi", "cont", "disc", "full", "hybrid"), k) if flag) or "none")
def test_every_combination_gives_the_right_loader_or_lists_the_possible_ones(key):
    multi, continuous, discrete, full, hybrid = key
    data = _data(multi, continuous, discrete)
    batch_size = None if full else 32
    if key in EXPECTED:
        loader = make_loader(data, num_steps=2, batch_size=batch_size, hybrid=hybrid,
                             time_offsets=2, seed=0)
        assert type(loader).__name__ == EXPECTED[key]
        assert loader.num_steps == 2
        first = next(iter(loader))
        assert first is not None
        return
    with pytest.raises(UnsupportedCombinationError) as info:
        make_loader(data, num_steps=2, batch_size=batch_size, hybrid=hybrid, seed=0)
    message = str(info.value)
    assert message.startswith("No loader for " + ("several sessions" if multi else "one session"))
    assert f"hybrid={hybrid}" in message
    possible = [EXPECTED[k] for k in EXPECTED if k[:3] == key[:3]]
    if possible:
        assert "Possible for this data:" in message
        for name in possible:
            assert name in message
    else:
        assert "No option works" in message
    # catchable as what CEBRA raised and as a cebra_data error
    assert isinstance(info.value, NotImplementedError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, cebra_data.errors.CebraDataError)


def test_hybrid_and_multi_session_without_labels_say_why():
    with pytest.raises(ValueError, match="Hybrid training needs a behaviour index"):
        make_loader(_data(False, False, False), num_steps=1, batch_size=8, hybrid=True)
    with pytest.raises(ValueError, match="aligns sessions through their labels"):
        make_loader(_data(True, False, False), num_steps=1, batch_size=8)


def test_conditional_time_delta_is_the_default_and_choices_are_passed_on():
    data = _data(False, True, False)
    assert make_loader(data, 1, 16, seed=0).conditional == "time_delta"
    loader = make_loader(data, 1, 16, conditional="delta_normal", delta=0.3, time_offsets=(7,),
                         seed=0)
    assert (loader.conditional, loader.delta, loader.time_offset) == ("delta_normal", 0.3, 7)
    index = make_loader(_data(False, False, False), 1, 16, time_offsets=4, seed=0).get_indices(16)
    assert bool((index.positive - index.reference == 4).all())


@pytest.mark.parametrize("continuous, discrete, conditional, match", [
    (False, True, "time_delta", "draws positives by label"),
    (False, False, "time_delta", "always uses conditional='time'"),
])
def test_a_conditional_that_would_be_ignored_is_an_error(continuous, discrete, conditional, match):
    with pytest.raises(UnsupportedCombinationError, match=match):
        make_loader(_data(False, continuous, discrete), 1, 16, conditional=conditional)


def test_unknown_conditional_lists_the_valid_ones():
    with pytest.raises(cebra_data.errors.UnknownChoiceError, match="time_delta"):
        make_loader(_data(False, True, False), 1, 16, conditional="nearest")


def test_time_offsets_accepts_one_integer_only():
    data = _data(False, True, False)
    with pytest.raises(UnsupportedCombinationError, match="One time offset is supported"):
        make_loader(data, 1, 16, time_offsets=[1, 2])
    with pytest.raises(TypeError, match="time_offsets should be an integer"):
        make_loader(data, 1, 16, time_offsets=1.5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_steps": 0}, ValueError, "num_steps"),
    ({"num_steps": 1, "batch_size": 0}, ValueError, "batch_size"),
    ({"num_steps": 1, "batch_size": 8, "hybrid": "yes"}, TypeError, "hybrid should be True or False"),
    ({"num_steps": 1, "batch_size": 8, "delta": -1.0}, ValueError, "delta"),
])
def test_invalid_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_loader(_data(False, True, False), **kwargs)


def test_data_forms_and_seeding():
    sessions = _data(True, True, False)
    multi = make_loader(sessions, 1, 8, seed=3)
    assert isinstance(multi.dataset, cebra_data.DatasetCollection)
    assert make_loader(sessions[:1], 1, 8, seed=3).dataset is sessions[0]
    again = make_loader(cebra_data.DatasetCollection(sessions), 1, 8, seed=3)
    first, second = multi.get_indices(8), again.get_indices(8)
    assert torch.equal(first.reference, second.reference)
    assert torch.equal(first.positive, second.positive)
    with pytest.raises(TypeError, match="expects a cebra_data dataset"):
        make_loader(np.zeros((10, 2)), 1, 8)
    with pytest.raises(ValueError, match="at least one session"):
        make_loader([], 1, 8)


def test_select_loader_reports_solver_kind():
    assert select_loader(False, True, False, True, False).solver == "single-session-full"
    assert select_loader(True, True, False, False, False).solver == "multi-session"
