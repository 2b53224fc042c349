"""Tests of cebra_data.multiobjective: DatasetxCEBRA and the two xCEBRA loaders."""

import numpy as np
import pytest
import torch

from cebra_data import (
    BatchIndex,
    ContrastiveMultiObjectiveLoader,
    DatasetxCEBRA,
    SupervisedMultiObjectiveLoader,
    TensorDataset,
)
from cebra_data.errors import UnknownChoiceError

N, D = 400, 8


def _dataset(n: int = N, offset=(2, 3), **labels) -> DatasetxCEBRA:
    gen = torch.Generator().manual_seed(0)
    if not labels:
        labels = {
            "position": torch.randn(n, 2, generator=gen),
            # time itself as a label: nearest neighbours are exact and predictable
            "clock": torch.arange(n, dtype=torch.float32),
        }
    dataset = DatasetxCEBRA(torch.randn(n, D, generator=gen), **labels)
    dataset.offset = offset
    return dataset


def _contrastive(dataset=None, *configs, seed=0, batch_size=64, **kwargs):
    loader = ContrastiveMultiObjectiveLoader(
        dataset if dataset is not None else _dataset(), num_steps=3, batch_size=batch_size,
        seed=seed, **kwargs,
    )
    for config in configs:
        loader.add_config(config)
    return loader


TIME = {"distribution": "time", "kwargs": {"time_offset": 7}}
TIME_DELTA = {"distribution": "time_delta", "kwargs": {"time_delta": 3, "label_name": "clock"}}
DELTA_NORMAL = {"distribution": "delta_normal", "kwargs": {"delta": 2.0, "label_name": "clock"}}


# -- DatasetxCEBRA -------------------------------------------------------------------


def test_dataset_shapes_and_labels():
    ds = DatasetxCEBRA(np.zeros((50, 6), dtype="float32"), speed=np.arange(50.0), xy=torch.zeros(50, 2))
    assert len(ds) == 50 and ds.input_dimension == 6
    assert ds.labels["speed"].shape == (50, 1) and ds.labels["speed"].dtype == torch.float32
    assert ds.labels["xy"].shape == (50, 2)
    assert ds[torch.tensor([0, 10])].shape == (2, 6, 1)
    ds.offset = (3, 2)
    assert ds[torch.tensor([0, 10, 49])].shape == (3, 6, 5)


def test_dataset_windows_follow_the_foundation_layout_and_edge_rule():
    neural = torch.randn(60, 5, generator=torch.Generator().manual_seed(3))
    xcebra = DatasetxCEBRA(neural)
    reference = TensorDataset(neural, continuous=torch.zeros(60, 1))
    for ds in (xcebra, reference):
        ds.offset = (4, 3)
    index = torch.tensor([0, 1, 10, 57, 59])
    assert torch.equal(xcebra[index], reference[index])
    assert torch.equal(xcebra.expand_index(index), reference.expand_index(index))
    assert torch.equal(xcebra.sample_mask(), reference.sample_mask())
    with pytest.raises(IndexError, match="out of range"):
        xcebra[torch.tensor([60])]


def test_dataset_configure_for_sets_the_offset():
    class Model:
        def get_offset(self):
            from cebra_data import Offset

            return Offset(5, 5)

    ds = _dataset()
    ds.configure_for(Model())
    assert len(ds.offset) == 10 and ds[torch.tensor([100])].shape == (1, D, 10)


def test_nan_labels_are_excluded_from_sampling():
    clock = torch.arange(100, dtype=torch.float32)
    clock[40] = float("nan")
    ds = DatasetxCEBRA(torch.zeros(100, 3), clock=clock)
    assert ds.excluded_mask.nonzero().flatten().tolist() == [40]
    assert not bool(ds.sample_mask()[40]) and int(ds.sample_mask().sum()) == 99


@pytest.mark.parametrize(
    "neural, labels, error, match",
    [
        (torch.zeros(10), {}, ValueError, "2-D"),
        (torch.zeros(10, 2, 2), {}, ValueError, "2-D"),
        (torch.zeros(0, 3), {}, ValueError, "empty"),
        ([[1.0, 2.0]], {}, TypeError, "numpy array, a torch.Tensor"),
        (torch.full((10, 2), float("nan")), {}, ValueError, "NaN"),
        (torch.zeros(10, 2), {"speed": torch.zeros(9)}, ValueError, "inconsistent.*speed=9"),
        (torch.zeros(10, 2), {"speed": torch.full((10,), float("inf"))}, ValueError, "'speed'.*infinite"),
        (torch.zeros(10, 2), {"speed": torch.zeros(10, 2, 2)}, ValueError, "'speed'"),
        (torch.zeros(10, 2), {"speed": [0.0] * 10}, TypeError, "'speed'"),
        (torch.zeros(10, 2), {"speed": np.array(["a"] * 10)}, TypeError, "'speed'"),
    ],
)
def test_dataset_validation(neural, labels, error, match):
    with pytest.raises(error, match=match):
        DatasetxCEBRA(neural, **labels)


def test_load_batch_supervised_returns_label_values_at_references():
    ds = _dataset()
    reference = torch.tensor([5, 50, 300])
    batch = ds.load_batch_supervised(BatchIndex(reference, None, None), ["clock", "position"])
    assert torch.equal(batch.reference, ds[reference])
    assert batch.negative is None
    assert batch.positive[0].flatten().tolist() == [5.0, 50.0, 300.0]
    assert torch.equal(batch.positive[1], ds.labels["position"][reference])
    single = ds.load_batch_supervised(BatchIndex(reference, None, None), "clock")
    assert len(single.positive) == 1


def test_load_batch_supervised_errors():
    ds = _dataset()
    with pytest.raises(ValueError, match="references only"):
        ds.load_batch_supervised(BatchIndex(torch.tensor([5]), torch.tensor([6]), None), ["clock"])
    with pytest.raises(UnknownChoiceError, match="'clock', 'position'"):
        ds.load_batch_supervised(BatchIndex(torch.tensor([5]), None, None), ["speed"])


def test_load_batch_contrastive_gathers_every_part():
    ds = _dataset()
    index = BatchIndex(
        torch.tensor([10, 20]), [torch.tensor([11, 21]), torch.tensor([30, 40])], torch.tensor([50, 60])
    )
    batch = ds.load_batch_contrastive(index)
    assert torch.equal(batch.reference, ds[index.reference])
    assert [p.shape for p in batch.positive] == [(2, D, 5), (2, D, 5)]
    assert torch.equal(batch.positive[1], ds[index.positive[1]])
    assert torch.equal(batch.negative, ds[index.negative])
    with pytest.raises(TypeError, match="list with one index tensor per objective"):
        ds.load_batch_contrastive(BatchIndex(index.reference, index.reference, index.negative))


def test_masks_apply_to_multiobjective_batches():
    ds = _dataset()
    ds.neural = ds.neural.abs() + 1.0  # no zero unless masked
    ds.set_masks({"RandomNeuronMask": 0.5}, seed=0)
    index = BatchIndex(torch.arange(10, 110), [torch.arange(11, 111)], torch.arange(12, 112))
    batch = ds.load_batch_contrastive(index)
    for part in (batch.reference, batch.positive[0], batch.negative):
        assert 0.4 < (part == 0).float().mean().item() < 0.6
    supervised = ds.load_batch_supervised(BatchIndex(index.reference, None, None), ["clock"])
    assert 0.4 < (supervised.reference == 0).float().mean().item() < 0.6


# -- SupervisedMultiObjectiveLoader -------------------------------------------------------


def test_supervised_loader_batches_and_label_values():
    ds = _dataset(offset=(10, 10))
    loader = SupervisedMultiObjectiveLoader(ds, num_steps=3, batch_size=32, seed=0)
    loader.add_config({"label": "clock"})
    loader.add_config({"label": "position"})
    assert loader.labels == ["clock", "position"]
    assert loader.sampling_mode_supervised == "ref_shared"
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:
        assert batch.reference.shape == (32, D, 20)
        clock, position = batch.positive
        assert clock.shape == (32, 1) and position.shape == (32, 2)
        # each window's label is the clock value at its reference: recover the reference
        reference = clock.flatten().long()
        assert torch.equal(batch.reference, ds[reference])
        assert torch.equal(position, ds.labels["position"][reference])


def test_supervised_references_respect_the_offset_and_seed():
    ds = _dataset(offset=(10, 10))
    index = SupervisedMultiObjectiveLoader(ds, num_steps=1, batch_size=256, seed=3, labels=["clock"]).get_indices(4000)
    valid = ds.sample_mask()
    assert bool(valid[index.reference].all())
    assert int(index.reference.min()) == 10 and int(index.reference.max()) == N - 10
    assert index.positive is None and index.negative is None
    again = SupervisedMultiObjectiveLoader(ds, num_steps=1, batch_size=256, seed=3).get_indices(4000)
    other = SupervisedMultiObjectiveLoader(ds, num_steps=1, batch_size=256, seed=4).get_indices(4000)
    assert torch.equal(index.reference, again.reference)
    assert not torch.equal(index.reference, other.reference)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sampling_mode_supervised": "independent"}, UnknownChoiceError, "'ref_shared'"),
        ({"labels": ["speed"]}, UnknownChoiceError, "label 'speed'"),
        ({"batch_size": N + 1}, ValueError, "at most the 400 samples"),
        ({"batch_size": None}, ValueError, "needs batch_size"),
    ],
)
def test_supervised_loader_errors(kwargs, error, match):
    arguments = {"dataset": _dataset(), "num_steps": 1, "batch_size": 8, **kwargs}
    with pytest.raises(error, match=match):
        SupervisedMultiObjectiveLoader(**arguments)


def test_supervised_loader_config_and_iteration_errors():
    loader = SupervisedMultiObjectiveLoader(_dataset(), num_steps=1, batch_size=8, seed=0)
    with pytest.raises(UnknownChoiceError, match="Valid choices are: 'clock', 'position'"):
        loader.add_config({"label": "speed"})
    with pytest.raises(TypeError, match="'label'"):
        loader.add_config({"name": "clock"})
    with pytest.raises(ValueError, match="no label to load"):
        next(iter(loader))
    with pytest.raises(ValueError, match="no negatives"):
        loader.get_indices(8, num_negatives=8)


def test_loaders_need_a_datasetxcebra():
    tensor_dataset = TensorDataset(torch.zeros(50, 3), continuous=torch.zeros(50, 1))
    for cls in (SupervisedMultiObjectiveLoader, ContrastiveMultiObjectiveLoader):
        with pytest.raises(TypeError, match="DatasetxCEBRA"):
            cls(tensor_dataset, num_steps=1, batch_size=8)


# -- ContrastiveMultiObjectiveLoader --------------------------------------------------------


def test_contrastive_shapes_and_shared_samples():
    loader = _contrastive(None, TIME, TIME_DELTA, DELTA_NORMAL)
    assert loader.sampling_mode_contrastive == "refneg_shared"
    assert [type(d).__name__ for d in loader.distributions] == [
        "TimeContrastive", "TimedeltaDistribution", "DeltaNormalDistribution",
    ]
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:
        assert batch.reference.shape == (64, D, 5) and batch.negative.shape == (64, D, 5)
        assert len(batch.positive) == 3 and all(p.shape == (64, D, 5) for p in batch.positive)
    index = loader.get_indices(16, num_negatives=40)
    assert index.reference.shape == (16,) and index.negative.shape == (40,)
    assert [p.shape for p in index.positive] == [(16,)] * 3


def test_time_positives_are_reference_plus_time_offset_inside_the_recording():
    ds = _dataset(offset=(5, 5))
    index = _contrastive(ds, TIME).get_indices(4000)
    valid = ds.sample_mask()
    assert torch.equal(index.positive[0], index.reference + 7)
    assert bool(valid[index.reference].all() and valid[index.positive[0]].all())
    assert bool(valid[index.negative].all())
    # references cover exactly the steps whose positive is valid: 5 .. N - 5 - 7
    assert int(index.reference.min()) == 5 and int(index.reference.max()) == N - 5 - 7
    # negatives are not restricted by the time objective
    assert int(index.negative.max()) == N - 5


def test_time_delta_positives_follow_the_empirical_change():
    # clock changes by exactly 3 over 3 steps, so the query is reference + 3 and
    # the positive is the nearest valid step to it
    ds = _dataset(offset=(5, 5))
    index = _contrastive(ds, TIME_DELTA).get_indices(2000)
    last_valid = N - 5
    assert torch.equal(index.positive[0], torch.clamp(index.reference + 3, max=last_valid))


def test_delta_normal_positives_have_the_configured_spread():
    # clock is time, so positive - reference is delta * z rounded to the nearest valid step.
    # 4000 references away from the borders: the std of the mean is 2 / sqrt(4000) = 0.03.
    ds = _dataset(n=2000, offset=(1, 1))
    index = _contrastive(ds, DELTA_NORMAL).get_indices(4000)
    inner = (index.reference > 20) & (index.reference < 2000 - 20)
    step = (index.positive[0] - index.reference)[inner].float()
    assert abs(step.mean().item()) < 0.15
    assert abs(step.std().item() - (4.0 + 1 / 12) ** 0.5) < 0.15


def test_references_are_served_by_every_objective():
    ds = _dataset(offset=(2, 3))
    loader = _contrastive(ds, TIME, {"distribution": "time", "kwargs": {"time_offset": 30}})
    index = loader.get_indices(4000)
    assert torch.equal(index.positive[1], index.reference + 30)
    assert int(index.reference.max()) == N - 3 - 30
    assert bool(ds.sample_mask()[index.positive[1]].all())


def test_contrastive_determinism_under_seed():
    def draw(seed):
        loader = _contrastive(None, TIME, TIME_DELTA, DELTA_NORMAL, seed=seed)
        return [loader.get_indices(64) for _ in range(3)]

    first, again, other = draw(11), draw(11), draw(12)
    for a, b in zip(first, again):
        assert torch.equal(a.reference, b.reference) and torch.equal(a.negative, b.negative)
        assert all(torch.equal(p, q) for p, q in zip(a.positive, b.positive))
    assert not torch.equal(first[0].reference, other[0].reference)


def test_no_global_random_state_is_used():
    state = torch.random.get_rng_state()
    loader = _contrastive(None, TIME, DELTA_NORMAL, seed=1)
    list(loader)
    supervised = SupervisedMultiObjectiveLoader(_dataset(), num_steps=2, batch_size=16, seed=1, labels=["clock"])
    list(supervised)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_offset_change_after_configuration_is_respected():
    ds = _dataset(offset=(0, 1))
    loader = _contrastive(ds, TIME)
    ds.offset = (20, 20)
    index = loader.get_indices(4000)
    assert bool(ds.sample_mask()[index.reference].all())
    assert bool(ds.sample_mask()[index.positive[0]].all())
    assert int(index.reference.min()) == 20 and int(index.positive[0].max()) == N - 20
    assert torch.equal(index.positive[0], index.reference + 7)


def test_both_lag_names_set_the_lag():
    ds = _dataset()
    a = _contrastive(ds, {"distribution": "time", "kwargs": {"time_delta": 4}}).get_indices(32)
    b = _contrastive(ds, {"distribution": "time", "kwargs": {"time_offset": 4}}).get_indices(32)
    assert torch.equal(a.positive[0], a.reference + 4) and torch.equal(b.positive[0], b.reference + 4)


@pytest.mark.parametrize(
    "config, error, match",
    [
        ({"distribution": "delta_vmf", "kwargs": {}}, UnknownChoiceError,
         "'delta_normal', 'time', 'time_delta'"),
        ({"distribution": "time", "kwargs": {"offset": 3}}, TypeError, "Unknown key.*'offset'"),
        ({"distribution": "time_delta", "kwargs": {"time_delta": 3}}, ValueError, "label_name"),
        ({"distribution": "delta_normal", "kwargs": {"label_name": "speed"}}, UnknownChoiceError,
         "label 'speed'"),
        ({"distribution": "time", "kwargs": {"time_offset": 3, "time_delta": 3}}, ValueError, "twice"),
        ({"distribution": "delta_normal", "kwargs": {"delta": -1.0, "label_name": "clock"}}, ValueError,
         "delta"),
        ({"kwargs": {}}, TypeError, "'distribution'"),
        ("time", TypeError, "'distribution'"),
        ({"distribution": "time", "kwargs": [3]}, TypeError, "kwargs"),
    ],
)
def test_contrastive_config_errors(config, error, match):
    loader = _contrastive()
    with pytest.raises(error, match=match):
        loader.add_config(config)
    assert loader.distributions == []


def test_contrastive_loader_errors():
    with pytest.raises(UnknownChoiceError, match="'refneg_shared'"):
        _contrastive(None, sampling_mode_contrastive="ref_shared")
    with pytest.raises(ValueError, match="no objective"):
        _contrastive().get_indices(8)
    with pytest.raises(ValueError, match="num_negatives"):
        _contrastive(None, TIME).get_indices(8, num_negatives=0)
