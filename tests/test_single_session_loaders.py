"""Single-session loaders: valid windows, batch layouts, registries, errors and reproducibility."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats
import torch

from cebra_data import (
    ContinuousDataLoader,
    DiscreteDataLoader,
    FullDataLoader,
    HybridDataLoader,
    MixedDataLoader,
    Offset,
    TensorDataset,
)
from cebra_data.base import Loader
from cebra_data.datatypes import Batch, BatchIndex
from cebra_data.distributions.continuous import TimeContrastive, TimedeltaDistribution
from cebra_data.distributions.registry import PRIORS
from cebra_data.distributions.registry import CONDITIONALS
from cebra_data.errors import MissingIndexError, UnknownChoiceError

N = 600
NEURONS = 12
BATCH = 64


def make_dataset(offset=(5, 5), trials=False, nan_rows=False, seed=0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    neural = torch.randn(N, NEURONS, generator=g)
    continuous = torch.randn(N, 3, generator=g).cumsum(0) * 0.1
    if nan_rows:
        continuous[100:110] = float("nan")
    discrete = torch.tensor([-3, 0, 5, 10**9])[torch.randint(0, 4, (N,), generator=g)]
    trial_ids = torch.arange(N) // 150 if trials else None
    return TensorDataset(neural, continuous=continuous, discrete=discrete, offset=offset, trial_ids=trial_ids)


# every loader configuration, built from the registries themselves
CONFIGS = (
    [("discrete", {"prior": name}) for name in sorted(PRIORS)]
    + [("continuous", {"conditional": name}) for name in sorted(CONDITIONALS)]
    + [("mixed", {"prior": name}) for name in sorted(PRIORS)]
    + [("hybrid", {"conditional": name}) for name in sorted(CONDITIONALS)]
    + [("full", {"conditional": name}) for name in sorted(CONDITIONALS)]
)
LOADERS = {
    "discrete": DiscreteDataLoader,
    "continuous": ContinuousDataLoader,
    "mixed": MixedDataLoader,
    "hybrid": HybridDataLoader,
    "full": FullDataLoader,
}


def build(kind, options, dataset, seed=0, num_steps=2):
    return LOADERS[kind](dataset, num_steps=num_steps, batch_size=BATCH, seed=seed, **options)


def draw(loader) -> BatchIndex:
    return loader.get_indices() if isinstance(loader, FullDataLoader) else loader.get_indices(BATCH)


def config_id(config):
    kind, options = config
    return f"{kind}-{next(iter(options.values()))}"


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
@pytest.mark.parametrize("variant", ["plain", "trials+nan"])
def test_every_index_has_a_full_window(config, variant):
    dataset = make_dataset(trials=variant != "plain", nan_rows=variant != "plain")
    mask = dataset.sample_mask()
    assert not bool(mask[:5].any())  # the offset (5, 5) excludes the first five steps
    loader = build(*config, dataset)
    for _ in range(3):
        index = draw(loader)
        for part in (index.reference, index.positive, index.negative):
            assert part.dtype == torch.long
            assert bool(mask[part].all())


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_iteration_yields_num_steps_batches(config):
    dataset = make_dataset()
    loader = build(*config, dataset, num_steps=3)
    items = list(loader)
    assert len(items) == len(loader) == 3
    if isinstance(loader, FullDataLoader):  # as in CEBRA: the indices of the whole dataset
        assert all(isinstance(item, BatchIndex) for item in items)
        assert loader.batch_size is None
    else:
        assert all(isinstance(item, Batch) for item in items)
        assert items[0].reference.shape == (BATCH, NEURONS, 10)
        assert items[0].negative.shape == (BATCH, NEURONS, 10)


def test_loaders_follow_an_offset_set_after_construction():
    dataset = make_dataset(offset=(0, 1))
    loader = ContinuousDataLoader(dataset, num_steps=1, batch_size=BATCH, conditional="time_delta", seed=0)
    dataset.offset = Offset(20, 20)  # e.g. dataset.configure_for(model) after building the loader
    low = torch.cat([draw(loader)[i] for i in range(3) for _ in range(20)]).min()
    assert int(low) >= 20


def test_discrete_positives_share_labels_and_uniform_prior_is_exact():
    dataset = make_dataset()
    labels = dataset.discrete_index
    loader = DiscreteDataLoader(dataset, num_steps=1, batch_size=BATCH, prior="uniform", seed=11)
    index = loader.get_indices(20_000)
    assert torch.equal(labels[index.positive], labels[index.reference])
    counts = np.array([(labels[index.reference] == v).sum().item() for v in (-3, 0, 5, 10**9)])
    assert scipy.stats.chisquare(counts).pvalue > 1e-4
    assert loader.index is labels


def test_time_positive_is_reference_plus_time_offset():
    dataset = make_dataset(trials=True)
    # 15 > len(offset): a pair could straddle two trials if trials were ignored
    loader = ContinuousDataLoader(dataset, num_steps=1, batch_size=BATCH, conditional="time", time_offset=15, seed=1)
    index = loader.get_indices(5000)
    assert torch.equal(index.positive, index.reference + 15)
    assert torch.equal(dataset.trial_ids[index.positive], dataset.trial_ids[index.reference])


def test_mixed_positives_share_labels():
    dataset = make_dataset(nan_rows=True)
    loader = MixedDataLoader(dataset, num_steps=1, batch_size=BATCH, seed=2)
    index = loader.get_indices(5000)
    assert torch.equal(dataset.discrete_index[index.positive], dataset.discrete_index[index.reference])
    assert loader.dindex is dataset.discrete_index and loader.cindex is dataset.continuous_index


def test_hybrid_layout_is_behaviour_then_time():
    dataset = make_dataset()
    loader = HybridDataLoader(dataset, num_steps=1, batch_size=BATCH, time_offset=4, seed=3)
    index = loader.get_indices(BATCH)
    assert (len(index.reference), len(index.positive), len(index.negative)) == (BATCH, 2 * BATCH, BATCH)
    assert torch.equal(index.positive[BATCH:], index.reference + 4)
    # the first half are behaviour positives: nearest neighbours, not time shifts
    assert not torch.equal(index.positive[:BATCH], index.reference + 4)
    batch = dataset.load_batch(index)
    assert batch.positive.shape == (2 * BATCH, NEURONS, 10)


def test_hybrid_distributions_are_attributes_as_in_cebra():
    # CEBRA 0.6.1: after construction ``time_distribution`` is the time distribution
    # object and ``behavior_distribution`` the behaviour one
    dataset = make_dataset()
    loader = HybridDataLoader(dataset, num_steps=1, batch_size=BATCH, time_offset=4, seed=3)
    assert isinstance(loader.time_distribution, TimeContrastive)
    assert isinstance(loader.behavior_distribution, TimedeltaDistribution)
    first = loader.time_distribution
    # a new offset rebuilds both from the names given at construction
    dataset.offset = (2, 3)
    index = loader.get_indices(BATCH)
    assert isinstance(loader.time_distribution, TimeContrastive) and loader.time_distribution is not first
    assert torch.equal(index.positive[BATCH:], index.reference + 4)
    other = HybridDataLoader(dataset, num_steps=1, batch_size=BATCH, time_distribution="time_delta", seed=3)
    assert isinstance(other.time_distribution, TimedeltaDistribution)


def test_full_loader_uses_every_valid_reference_once():
    dataset = make_dataset(trials=True)
    loader = FullDataLoader(dataset, num_steps=2, conditional="time", time_offset=13, seed=4)
    first, second = list(loader)
    mask = dataset.sample_mask()
    expected = [t for t in range(N - 13) if mask[t] and mask[t + 13] and dataset.trial_ids[t] == dataset.trial_ids[t + 13]]
    assert first.reference.tolist() == expected
    assert torch.equal(first.positive, first.reference + 13)
    assert torch.equal(first.negative.sort().values, first.reference)
    assert not torch.equal(first.negative, second.negative)  # a fresh permutation per step
    with pytest.raises(ValueError, match="num_samples should be None"):
        loader.get_indices(10)


@pytest.mark.parametrize(
    "kind, options, match",
    [
        ("discrete", {"prior": "balanced"}, "'empirical', 'uniform'"),
        ("continuous", {"conditional": "delta_vmf"}, "'delta_normal', 'time', 'time_delta'"),
        ("mixed", {"conditional": "time"}, "Valid choices are: 'time_delta'"),
        ("mixed", {"prior": "flat"}, "'empirical', 'uniform'"),
        ("hybrid", {"time_distribution": "clock"}, "'delta_normal', 'time', 'time_delta'"),
        ("full", {"conditional": "nearest"}, "'delta_normal', 'time', 'time_delta'"),
    ],
)
def test_unknown_names_list_the_valid_ones(kind, options, match):
    with pytest.raises(UnknownChoiceError, match=match):
        build(kind, options, make_dataset())


@pytest.mark.parametrize("value", [None, 0, 1.5, 3, ["time"]], ids=repr)
@pytest.mark.parametrize(
    "kind, option",
    [("hybrid", "time_distribution"), ("hybrid", "conditional"), ("continuous", "conditional"),
     ("full", "conditional"), ("mixed", "conditional"), ("mixed", "prior"), ("discrete", "prior")],
)
def test_a_name_that_is_not_a_string_is_an_unknown_choice(kind, option, value):
    # HybridDataLoader(time_distribution=None) raised a raw AttributeError before.
    with pytest.raises(UnknownChoiceError, match=rf"Unknown .*{option}.* \(of type {type(value).__name__}, "
                                                 r"not a name\)\. Valid choices are: '"):
        build(kind, {option: value}, make_dataset())


def test_hybrid_time_distribution_keeps_its_name_and_refuses_other_values_on_rebuild():
    dataset = make_dataset()
    loader = build("hybrid", {}, dataset)
    built = loader.time_distribution
    dataset.offset = Offset(2, 2)  # the rebuild uses the name given at construction
    loader.get_indices(BATCH)
    assert type(loader.time_distribution) is type(built) and loader.time_distribution is not built
    loader.time_distribution = 5
    dataset.offset = Offset(3, 3)
    with pytest.raises(UnknownChoiceError, match=r"time_distribution 5 \(of type int"):
        loader.get_indices(BATCH)


def test_missing_index_is_reported_at_construction():
    neural = torch.randn(100, 4)
    continuous_only = TensorDataset(neural, continuous=torch.randn(100, 2))
    discrete_only = TensorDataset(neural, discrete=torch.arange(100) % 3)
    with pytest.raises(MissingIndexError, match="discrete_index is None"):
        DiscreteDataLoader(continuous_only, num_steps=1, batch_size=8)
    with pytest.raises(MissingIndexError, match="conditional='time_delta'.*continuous_index is None"):
        ContinuousDataLoader(discrete_only, num_steps=1, batch_size=8)
    with pytest.raises(MissingIndexError, match="continuous_index is None"):
        MixedDataLoader(discrete_only, num_steps=1, batch_size=8)
    with pytest.raises(MissingIndexError, match="continuous_index is None"):
        HybridDataLoader(discrete_only, num_steps=1, batch_size=8)
    # time contrast needs no label
    loader = ContinuousDataLoader(discrete_only, num_steps=1, batch_size=8, conditional="time", time_offset=2)
    assert loader.get_indices(8).reference.shape == (8,)


def test_bad_arguments_fail_early():
    dataset = make_dataset()
    with pytest.raises(ValueError, match="num_steps should be an integer >= 1"):
        ContinuousDataLoader(dataset, num_steps=0, batch_size=8)
    with pytest.raises(ValueError, match="delta should be > 0"):
        ContinuousDataLoader(dataset, num_steps=1, batch_size=8, conditional="delta_normal", delta=-1.0)
    loader = ContinuousDataLoader(dataset, num_steps=1, batch_size=8)
    with pytest.raises(ValueError, match="num_samples should be an integer >= 1"):
        loader.get_indices(0)
    assert isinstance(loader, Loader)


def stream(seed) -> str:
    digest = hashlib.sha256()
    dataset = make_dataset(trials=True, nan_rows=True)
    for kind, options in CONFIGS:
        loader = build(kind, options, dataset, seed=seed)
        for _ in range(2):
            for part in draw(loader)[:3]:
                digest.update(part.numpy().tobytes())
    return digest.hexdigest()


def test_same_seed_same_stream_across_processes():
    here = os.path.dirname(__file__)
    script = f"import sys; sys.path.insert(0, {here!r}); from test_single_session_loaders import stream; print(stream(99))"
    outputs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1] == stream(99)


def test_different_seeds_differ_and_global_state_is_untouched():
    torch_state, numpy_state, python_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    assert stream(1) != stream(2)
    assert stream(None) != stream(None)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert random.getstate() == python_state


# -- CEBRA's deprecated "delta" and a time_offset of 0 ----------------------------------------


@pytest.mark.parametrize("loader_class", [ContinuousDataLoader, FullDataLoader])
def test_delta_is_cebras_deprecated_name_of_delta_normal(loader_class):
    from cebra_data.errors import DeprecatedNameWarning

    dataset = make_dataset()
    size = {"batch_size": 16} if loader_class is ContinuousDataLoader else {}
    with pytest.warns(DeprecatedNameWarning, match='pass conditional="delta_normal"') as record:
        old = loader_class(dataset, num_steps=1, conditional="delta", seed=3, **size)
    assert issubclass(record[0].category, DeprecationWarning)  # filtered as CEBRA's is
    assert record[0].filename == __file__  # points at the caller's line
    new = loader_class(dataset, num_steps=1, conditional="delta_normal", seed=3, **size)
    assert old.conditional == "delta"  # the field keeps what was passed, as in CEBRA
    a, b = old.get_indices(16 if size else None), new.get_indices(16 if size else None)
    for field in ("reference", "positive", "negative"):
        assert torch.equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("make_loader", [
    lambda d: ContinuousDataLoader(d, num_steps=1, batch_size=8, conditional="time_delta", time_offset=0),
    lambda d: HybridDataLoader(d, num_steps=1, batch_size=8, time_offset=0),
    lambda d: MixedDataLoader(d, num_steps=1, batch_size=8, time_offset=0),
    lambda d: FullDataLoader(d, num_steps=1, conditional="time_delta", time_offset=0),
])
def test_time_delta_with_time_offset_zero_is_refused(make_loader):
    with pytest.raises(ValueError, match="time_offset=0 with conditional='time_delta'.*time_offset >= 1"):
        make_loader(make_dataset())


def test_time_with_time_offset_zero_warns_that_positives_are_the_references():
    from cebra_data.errors import MethodologyWarning

    with pytest.warns(MethodologyWarning, match="every positive is its own reference") as record:
        loader = ContinuousDataLoader(make_dataset(), num_steps=1, batch_size=32, conditional="time",
                                      time_offset=0, seed=0)
    assert record[0].filename == __file__
    index = loader.get_indices(32)
    assert torch.equal(index.positive, index.reference)  # what the warning says, as in CEBRA
