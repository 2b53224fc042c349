"""Multi-session loaders: CEBRA's fields, batch layout, valid windows, seeding, errors, alignment."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

import cebra_data
from cebra_data import (
    ContinuousMultiSessionDataLoader,
    DatasetCollection,
    DiscreteMultiSessionDataLoader,
    MixedMultiSessionDataLoader,
    MultiSessionLoader,
    Offset,
    TensorDataset,
    UnifiedDataset,
    UnifiedLoader,
)
from cebra_data.distributions.index import ContinuousIndex
from cebra_data.distributions.multisession import mix
from cebra_data.errors import (
    DimensionMismatchError,
    MissingIndexError,
    UnknownChoiceError,
)

LOADERS = [
    MultiSessionLoader,
    ContinuousMultiSessionDataLoader,
    DiscreteMultiSessionDataLoader,
    MixedMultiSessionDataLoader,
    UnifiedLoader,
]


def make_sessions(seed: int = 0, lengths=(120, 200, 160), neurons=(6, 11, 4), offset=(4, 6)):
    g = torch.Generator().manual_seed(seed)
    return [
        TensorDataset(
            torch.randn(n, c, generator=g),
            continuous=torch.rand(n, 2, generator=g),
            discrete=torch.arange(n) % 3,
            offset=offset,
            trial_ids=torch.arange(n) // 50 if i == 1 else None,
        )
        for i, (n, c) in enumerate(zip(lengths, neurons))
    ]


def make_loader(cls, seed: int = 0, **kwargs):
    dataset = (UnifiedDataset if cls is UnifiedLoader else DatasetCollection)(make_sessions(seed))
    kwargs.setdefault("num_steps", 3)
    kwargs.setdefault("batch_size", 16)
    return cls(dataset, seed=seed, **kwargs)


def indices_of(loader, num_samples=None):
    batch = loader.get_indices(num_samples)
    return batch.reference, batch.positive, batch.negative


# -- CEBRA's fields and defaults --------------------------------------------------


def test_fields_and_defaults_follow_cebra():
    def fields(cls):
        return [(f.name, f.default) for f in dataclasses.fields(cls) if not f.kw_only]

    # CEBRA 0.6.1: dataclasses.fields(cebra.data.MultiSessionLoader)
    base = [("dataset", None), ("time_offset", 10), ("num_steps", None), ("batch_size", None)]
    assert fields(MultiSessionLoader) == base
    assert fields(DiscreteMultiSessionDataLoader) == base
    assert fields(MixedMultiSessionDataLoader) == base
    assert fields(ContinuousMultiSessionDataLoader) == base + [("conditional", "time_delta")]
    assert fields(UnifiedLoader) == base + [("conditional", "time_delta")]
    for cls in LOADERS:
        seed = {f.name: f for f in dataclasses.fields(cls)}["seed"]
        assert seed.kw_only and seed.default is None
    # positional arguments mean what they mean in CEBRA: time_offset, num_steps, batch_size
    loader = ContinuousMultiSessionDataLoader(DatasetCollection(make_sessions()), 3, 2, 8, "time", seed=1)
    assert (loader.time_offset, loader.num_steps, loader.batch_size, loader.conditional) == (3, 2, 8, "time")


# -- batch layout --------------------------------------------------------------------


@pytest.mark.parametrize("cls", LOADERS[:-1], ids=lambda c: c.__name__)
def test_multi_session_batches_are_per_session_windows(cls):
    loader = make_loader(cls, time_offset=2)
    batches = list(loader)
    assert len(batches) == 3
    for batch in batches:
        assert [tuple(b.reference.shape) for b in batch] == [(16, 6, 10), (16, 11, 10), (16, 4, 10)]
        assert all(b.positive.shape == b.reference.shape == b.negative.shape for b in batch)
        assert all(b.index is batch[0].index and b.index.shape == (48,) for b in batch)
        assert torch.equal(batch[0].index[batch[0].index_reversed], torch.arange(48))


def test_unified_batches_concatenate_the_neurons():
    loader = make_loader(UnifiedLoader, time_offset=2)
    for batch in loader:
        assert batch.reference.shape == batch.positive.shape == batch.negative.shape == (16, 21, 10)
        assert batch.index is None


def test_num_samples_overrides_batch_size_and_none_needs_one():
    loader = make_loader(ContinuousMultiSessionDataLoader, time_offset=2)
    assert loader.get_indices(5).reference.shape == (3, 5)
    assert loader.get_indices().reference.shape == (3, 16)
    no_size = ContinuousMultiSessionDataLoader(DatasetCollection(make_sessions()), num_steps=1, seed=0)
    with pytest.raises(ValueError, match="needs a batch size"):
        no_size.get_indices()


# -- valid windows -------------------------------------------------------------------


@pytest.mark.parametrize("cls", LOADERS, ids=lambda c: c.__name__)
def test_every_index_and_window_lies_inside_its_session(cls):
    loader = make_loader(cls, seed=3, time_offset=5, batch_size=64)
    sessions = list(loader.dataset.iter_sessions())
    masks = [s.sample_mask() for s in sessions]
    for _ in range(10):
        for name, rows in zip(("reference", "positive", "negative"), indices_of(loader)):
            for s, session in enumerate(sessions):
                assert bool(masks[s][rows[s]].all()), (name, s)
                windows = session.expand_index(rows[s])
                assert torch.equal(windows[:, session.offset.left], rows[s])  # nothing clamped
                if session.trial_ids is not None:
                    trial = session.trial_ids
                    assert bool((trial[windows] == trial[rows[s]][:, None]).all())


def test_offset_changed_after_construction_is_respected():
    loader = make_loader(ContinuousMultiSessionDataLoader, time_offset=2, batch_size=128)

    class Model:
        def get_offset(self):
            return (20, 15)

    loader.dataset.configure_for(Model())
    for rows in indices_of(loader):
        for s, length in enumerate(loader.dataset.session_lengths):
            assert int(rows[s].min()) >= 20 and int(rows[s].max()) <= length - 15


# -- conditionals ------------------------------------------------------------------------


def test_time_conditional_pairs_within_each_session():
    loader = make_loader(ContinuousMultiSessionDataLoader, conditional="time", time_offset=7)
    batch = loader.get_indices()
    assert torch.equal(batch.positive, batch.reference + 7)
    assert torch.equal(batch.index, torch.arange(48))
    trial = loader.dataset.get_session(1).trial_ids
    assert torch.equal(trial[batch.reference[1]], trial[batch.positive[1]])


def test_discrete_and_mixed_loaders_share_labels_always():
    for cls in (DiscreteMultiSessionDataLoader, MixedMultiSessionDataLoader):
        loader = make_loader(cls, seed=4, time_offset=1, batch_size=100)
        sessions = list(loader.dataset.iter_sessions())
        for _ in range(5):
            batch = loader.get_indices()
            ref = torch.stack([s.discrete_index[r] for s, r in zip(sessions, batch.reference)])
            pos = torch.stack([s.discrete_index[p] for s, p in zip(sessions, batch.positive)])
            assert torch.equal(mix(ref, batch.index), pos), cls.__name__


def test_mixed_loader_positive_is_nearest_within_the_label():
    loader = make_loader(MixedMultiSessionDataLoader, seed=5, time_offset=0, batch_size=40)
    sessions = list(loader.dataset.iter_sessions())
    batch = loader.get_indices()
    behaviour = torch.stack([s.continuous_index[r] for s, r in zip(sessions, batch.reference)])
    labels = torch.stack([s.discrete_index[r] for s, r in zip(sessions, batch.reference)])
    query, want = mix(behaviour, batch.index), mix(labels, batch.index)
    for s, session in enumerate(sessions):
        allowed = session.sample_mask()[None, :] & (session.discrete_index[None, :] == want[s][:, None])
        distance = torch.cdist(query[s].double(), session.continuous_index.double()).square()
        distance[~allowed] = math.inf
        assert torch.equal(batch.positive[s], distance.argmin(1))


# -- seeding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", LOADERS, ids=lambda c: c.__name__)
def test_same_seed_same_stream_different_seed_differs(cls):
    def stream(seed):
        loader = make_loader(cls, seed=0, time_offset=2)
        loader = dataclasses.replace(loader, seed=seed)
        return [torch.cat(indices_of(loader)) for _ in range(3)]

    first, again, other = stream(5), stream(5), stream(6)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


# -- errors ----------------------------------------------------------------------------------


def test_errors_are_early_and_name_what_is_wrong():
    sessions = make_sessions()
    with pytest.raises(TypeError, match="multi-session dataset .* got TensorDataset"):
        ContinuousMultiSessionDataLoader(sessions[0], num_steps=1, batch_size=4)
    with pytest.raises(UnknownChoiceError, match="'time', 'time_delta'"):
        ContinuousMultiSessionDataLoader(DatasetCollection(sessions), num_steps=1, batch_size=4, conditional="delta")
    # UnifiedLoader lists only what it accepts (it listed 'time' too, then refused it)
    for conditional in ("time", "bogus"):
        with pytest.raises(UnknownChoiceError, match=r"UnifiedLoader conditional .*Valid choices are: 'time_delta'\.$"):
            UnifiedLoader(UnifiedDataset(sessions), num_steps=1, batch_size=4, conditional=conditional)
    behaviour_only = [TensorDataset(torch.zeros(40, 3), continuous=torch.rand(40, 1)) for _ in range(2)]
    with pytest.raises(MissingIndexError, match=r"discrete index in every session, but session\(s\) \[0, 1\]"):
        DiscreteMultiSessionDataLoader(DatasetCollection(behaviour_only), num_steps=1, batch_size=4)
    with pytest.raises(MissingIndexError, match=r"discrete index"):
        MixedMultiSessionDataLoader(DatasetCollection(behaviour_only), num_steps=1, batch_size=4)
    labels_only = [TensorDataset(torch.zeros(40, 3), discrete=torch.arange(40) % 2) for _ in range(2)]
    with pytest.raises(MissingIndexError, match=r"continuous index in every session"):
        ContinuousMultiSessionDataLoader(DatasetCollection(labels_only), num_steps=1, batch_size=4)
    mismatched = [TensorDataset(torch.zeros(40, 3), continuous=torch.rand(40, d)) for d in (2, 3)]
    with pytest.raises(DimensionMismatchError, match="session 0: 2, session 1: 3"):
        ContinuousMultiSessionDataLoader(DatasetCollection(mismatched), num_steps=1, batch_size=4)
    with pytest.raises(ValueError, match="num_steps"):
        ContinuousMultiSessionDataLoader(DatasetCollection(sessions), num_steps=0, batch_size=4)


# -- alignment without a neural network ---------------------------------------------------


def synthetic_sessions(seed: int, noise: float = 0.5):
    """Three random linear read-outs (20, 35, 50 neurons, Gaussian noise) of one 2-D latent.

    The latent is a smooth trajectory that is also the behaviour; each session
    records a different stretch of it (different lengths and start times), so
    time indices do not line up across sessions -- only behaviour does.
    """
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(3000, dtype=torch.float64)
    latent = torch.stack(
        [
            torch.sin(2 * math.pi * t / 211.0),
            0.8 * torch.cos(2 * math.pi * t / 97.3) + 0.3 * torch.sin(2 * math.pi * t / 53.1),
        ],
        dim=1,
    )
    sessions = []
    for start, length, neurons in [(0, 900, 20), (700, 1200, 35), (1500, 1000, 50)]:
        z = latent[start : start + length]
        readout = torch.randn(2, neurons, generator=g, dtype=torch.float64)
        bias = torch.randn(neurons, generator=g, dtype=torch.float64)
        x = z @ readout + bias + noise * torch.randn(length, neurons, generator=g, dtype=torch.float64)
        sessions.append((x, z))
    return sessions


def fit_linear(x_from: torch.Tensor, x_to: torch.Tensor):
    design = torch.cat([x_from, torch.ones(len(x_from), 1, dtype=x_from.dtype)], dim=1)
    beta = torch.linalg.lstsq(design, x_to).solution
    return lambda x: torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1) @ beta


def r_squared(y: torch.Tensor, prediction: torch.Tensor) -> float:
    return float(1 - (y - prediction).square().sum() / (y - y.mean(0)).square().sum())


def cross_session_pairs(loader, source: int, target: int, steps: int, link: str = "index"):
    """(reference in source, its positive in target) over ``steps`` batches, matched through ``link``.

    ``batch.index[k]`` is the flat position of the reference behind flat
    positive ``k``; ``link="index_reversed"`` deliberately misuses the inverse.
    """
    x_source, x_target = [], []
    for _ in range(steps):
        batch = loader.get_indices()
        num_sessions, size = batch.reference.shape
        session_of = torch.arange(num_sessions).repeat_interleave(size)
        behind = getattr(batch, link)
        keep = (session_of[behind] == source) & (session_of == target)
        x_source.append(loader.dataset.get_session(source).neural[batch.reference.reshape(-1)[behind][keep]])
        x_target.append(loader.dataset.get_session(target).neural[batch.positive.reshape(-1)[keep]])
    return torch.cat(x_source).double(), torch.cat(x_target).double()


@pytest.mark.parametrize("seed", range(3))
def test_cross_session_pairs_align_sessions_linearly(seed):
    """A linear map A -> B fitted on the loader's cross-session pairs predicts held-out B.

    Seeds 0-2, 70 % of each session for training, 20 batches of 3 x 64 (about
    430 pairs from A to B), held-out test points: the last 30 % of A matched to
    the last 30 % of B by behaviour (distance < 0.05). With noise 0.5 the
    noiseless read-out of the latent explains about 0.8 of session B's
    variance (the ceiling); noisy inputs and the time_offset step between a
    reference and its positive bring the fit to about 0.73-0.76. Pairs that
    carry no information (shuffled, or matched through index_reversed instead
    of index) give R^2 <= 0. The threshold 0.5 sits between both with a margin
    of > 0.2 on either side.
    """
    data = synthetic_sessions(seed)
    cut = [int(0.7 * len(x)) for x, _ in data]
    train = DatasetCollection(
        [TensorDataset(x[:c].float(), continuous=z[:c].float()) for (x, z), c in zip(data, cut)]
    )
    loader = ContinuousMultiSessionDataLoader(train, num_steps=20, batch_size=64, time_offset=10, seed=seed)
    source, target = 0, 1
    x_a, x_b = cross_session_pairs(loader, source, target, steps=20)
    assert len(x_a) > 300

    (held_a, z_a), (held_b, z_b) = [(x[c:], z[c:]) for (x, z), c in zip(data[:2], cut[:2])]
    nearest = ContinuousIndex(z_b).search(z_a)
    close = (z_b[nearest] - z_a).norm(dim=1) < 0.05
    test_a, test_b = held_a[close], held_b[nearest[close]]
    assert len(test_a) > 100

    threshold = 0.5
    assert r_squared(test_b, fit_linear(x_a, x_b)(test_a)) > threshold
    shuffle = torch.randperm(len(x_b), generator=torch.Generator().manual_seed(seed))
    assert r_squared(test_b, fit_linear(x_a, x_b[shuffle])(test_a)) < threshold
    loader = dataclasses.replace(loader, seed=seed)
    wrong_a, wrong_b = cross_session_pairs(loader, source, target, steps=10, link="index_reversed")
    assert r_squared(test_b, fit_linear(wrong_a, wrong_b)(test_a)) < threshold


def test_configure_for_is_atomic_across_sessions():
    # the second session is too short for the new window: no session may change
    short = [TensorDataset(torch.zeros(n, 2), continuous=torch.rand(n, 1)) for n in (50, 6)]
    collection = DatasetCollection(short)

    class Model:
        def get_offset(self):
            return Offset(5, 5)

    with pytest.raises(ValueError, match="fewer than the 10 samples of one window"):
        collection.configure_for(Model())
    assert [s.offset for s in collection.iter_sessions()] == [Offset(0, 1), Offset(0, 1)]
    assert collection.offset == Offset(0, 1)


def test_single_session_loaders_refuse_a_collection_at_construction():
    collection = DatasetCollection(make_sessions())
    for loader in (cebra_data.ContinuousDataLoader, cebra_data.DiscreteDataLoader,
                   cebra_data.MixedDataLoader, cebra_data.HybridDataLoader, cebra_data.FullDataLoader):
        with pytest.raises(TypeError, match="samples one session, but got the multi-session"):
            loader(collection, num_steps=1, batch_size=4)
