"""Loaders and samplers accept datasets with CEBRA's interface (duck typing), not only ours.

The classes below mimic ``cebra.data``'s datasets without importing CEBRA: a
mutable offset compared by identity, index properties that raise
``NotImplementedError`` when absent, no ``sample_mask()``, no ``trial_ids``,
their own batch type. The last tests use CEBRA's real demo datasets when
CEBRA is installed.
"""

from __future__ import annotations

import pytest
import torch

from cebra_data import (
    Batch,
    ContinuousDataLoader,
    ContinuousMultiSessionDataLoader,
    DatasetCollection,
    DiscreteDataLoader,
    DiscreteMultiSessionDataLoader,
    MixedDataLoader,
    TensorDataset,
    UnifiedDataset,
    UnifiedLoader,
)
from cebra_data.base import (
    index_of,
    is_dataset_like,
    is_multisession_like,
    offset_key_of,
    sample_mask_of,
    trial_ids_of,
)
from cebra_data.datatypes import Offset
from cebra_data.distributions.base import window_mask
from cebra_data.distributions.multisession import (
    DiscreteMultisessionSampler,
    MultisessionSampler,
    UnifiedSampler,
)
from cebra_data.errors import MissingIndexError

# -- a minimal dataset with CEBRA's interface -------------------------------------


class LikeOffset:
    """Mutable, no ``__eq__`` (compares by identity), like ``cebra.data.Offset``."""

    def __init__(self, left: int, right: int) -> None:
        self.left, self.right = left, right

    def __len__(self) -> int:
        return self.left + self.right


class LikeBatch:
    def __init__(self, reference, positive, negative, index=None, index_reversed=None):
        self.reference, self.positive, self.negative = reference, positive, negative
        self.index, self.index_reversed = index, index_reversed


class LikeDataset:
    """A single session with the attributes CEBRA's datasets have, and nothing more."""

    def __init__(self, neural, continuous=None, discrete=None, offset=(0, 1)):
        self.neural = neural
        self._continuous = continuous
        self._discrete = discrete
        self.offset = LikeOffset(*offset)
        self.device = "cpu"

    @property
    def continuous_index(self):
        if self._continuous is None:
            raise NotImplementedError
        return self._continuous

    @property
    def discrete_index(self):
        if self._discrete is None:
            raise NotImplementedError
        return self._discrete

    @property
    def input_dimension(self):
        return self.neural.shape[1]

    def __len__(self):
        return len(self.neural)

    def __getitem__(self, index):
        start = index.clamp(self.offset.left, len(self) - self.offset.right) - self.offset.left
        window = start[:, None] + torch.arange(len(self.offset))[None, :]
        return self.neural[window].transpose(2, 1)

    def load_batch(self, index):
        return LikeBatch(self[index.reference], self[index.positive], self[index.negative])


class LikeCollection:
    """Several sessions with CEBRA's multi-session interface (no ``__len__``, no ``sample_mask``)."""

    def __init__(self, *sessions):
        self._sessions = list(sessions)
        self.offset = LikeOffset(0, 1)
        self.device = "cpu"

    @property
    def num_sessions(self):
        return len(self._sessions)

    def get_session(self, session_id):
        return self._sessions[session_id]

    def iter_sessions(self):
        return iter(self._sessions)

    @property
    def continuous_index(self):
        return torch.cat([s.continuous_index for s in self._sessions])

    def load_batch(self, index):
        return [
            LikeBatch(s[index.reference[i]], s[index.positive[i]], s[index.negative[i]],
                      index.index, index.index_reversed)
            for i, s in enumerate(self._sessions)
        ]


def arrays(seed=0, n=150, neurons=5):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, neurons, generator=g),
        torch.rand(n, 2, generator=g),
        torch.arange(n) % 3,
    )


def pair(seed=0, n=150, neurons=5, offset=(3, 4), continuous=True, discrete=True):
    """The same recording as a foreign dataset and as our TensorDataset."""
    neural, cont, disc = arrays(seed, n, neurons)
    cont, disc = (cont if continuous else None), (disc if discrete else None)
    ours = TensorDataset(neural, continuous=cont, discrete=disc, offset=offset)
    return LikeDataset(neural, cont, disc, offset), ours


def same_indices(a, b):
    for name in ("reference", "positive", "negative", "index", "index_reversed"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert torch.equal(torch.as_tensor(x), torch.as_tensor(y)), name


# -- helpers ------------------------------------------------------------------------


def test_recognises_dataset_like_objects():
    foreign, ours = pair()
    assert is_dataset_like(foreign) and is_dataset_like(ours)
    assert is_dataset_like(LikeCollection(foreign)) and is_multisession_like(LikeCollection(foreign))
    assert not is_multisession_like(foreign)
    assert not is_dataset_like(torch.zeros(4, 2))
    assert not is_dataset_like(object())


def test_sample_mask_of_foreign_dataset_is_the_window_rule():
    foreign, ours = pair(n=20, offset=(2, 3))
    expected = torch.zeros(20, dtype=torch.bool)
    expected[2:18] = True  # left <= i <= N - right
    assert torch.equal(sample_mask_of(foreign), expected)
    assert torch.equal(sample_mask_of(foreign), ours.sample_mask())
    assert torch.equal(window_mask(20, Offset(2, 3)), expected)


def test_window_mask_with_trials_and_exclusions_is_the_dataset_rule():
    trial_ids = torch.tensor([0] * 5 + [1] * 7)
    excluded = torch.zeros(12, dtype=torch.bool)
    excluded[7] = True
    mask = window_mask(12, LikeOffset(1, 2), trial_ids=trial_ids, excluded=excluded)
    assert mask.int().tolist() == [0, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0]
    with pytest.raises(TypeError, match="integer left and right"):
        window_mask(12, object())


def test_foreign_dataset_has_no_trials_and_missing_index_is_none():
    foreign, _ = pair(continuous=False)
    assert trial_ids_of(foreign) is None
    assert index_of(foreign, "continuous") is None
    assert torch.equal(index_of(foreign, "discrete"), foreign.discrete_index)
    with pytest.raises(ValueError, match="kind"):
        index_of(foreign, "other")


def test_sample_mask_of_rejects_objects_without_length_or_offset():
    with pytest.raises(TypeError, match="sample_mask\\(\\), or with __len__ and an offset"):
        sample_mask_of(object())


def test_offset_key_compares_mutable_offsets_by_value():
    foreign, _ = pair(offset=(2, 3))
    key = offset_key_of(foreign)
    foreign.offset = LikeOffset(2, 3)  # a new object, same value
    assert offset_key_of(foreign) == key
    foreign.offset.left = 4  # changed in place
    assert offset_key_of(foreign) == Offset(4, 3) != key


# -- single-session loaders ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda d: DiscreteDataLoader(d, num_steps=3, batch_size=16, seed=4),
        lambda d: ContinuousDataLoader(d, num_steps=3, batch_size=16, seed=4),
        lambda d: ContinuousDataLoader(d, num_steps=3, batch_size=16, conditional="time", seed=4),
        lambda d: ContinuousDataLoader(d, num_steps=3, batch_size=16, conditional="delta_normal", seed=4),
        lambda d: MixedDataLoader(d, num_steps=3, batch_size=16, seed=4),
    ],
    ids=["discrete", "time_delta", "time", "delta_normal", "mixed"],
)
def test_single_session_loader_draws_as_on_our_dataset(make):
    foreign, ours = pair(offset=(3, 4))
    foreign_loader, our_loader = make(foreign), make(ours)
    for _ in range(3):
        same_indices(foreign_loader.get_indices(), our_loader.get_indices())
    for foreign_batch, our_batch in zip(foreign_loader, our_loader):
        assert type(foreign_batch) is Batch
        assert foreign_batch.reference.shape == (16, 5, 7)
        assert torch.equal(foreign_batch.positive, our_batch.positive)


def test_single_session_loader_follows_in_place_offset_change():
    foreign, _ = pair(n=100, offset=(0, 1))
    loader = ContinuousDataLoader(foreign, num_steps=1, batch_size=200, conditional="time",
                                  time_offset=1, seed=0)
    first = loader.distribution
    foreign.offset = LikeOffset(0, 1)  # same value: nothing to rebuild
    loader.get_indices()
    assert loader.distribution is first
    foreign.offset.left, foreign.offset.right = 30, 40  # CEBRA's configure_for style
    idx = loader.get_indices()
    assert loader.distribution is not first
    for name in ("reference", "positive", "negative"):
        values = getattr(idx, name)
        assert int(values.min()) >= 30 and int(values.max()) <= 100 - 40, name


def test_missing_foreign_index_is_a_missing_index_error():
    foreign, _ = pair(discrete=False)
    with pytest.raises(MissingIndexError, match="discrete index"):
        DiscreteDataLoader(foreign, num_steps=1, batch_size=4)


def test_loader_rejects_non_datasets_saying_what_is_missing():
    with pytest.raises(TypeError, match="interface of cebra.data.*got Tensor: it lacks load_batch"):
        ContinuousDataLoader(torch.zeros(10, 2), num_steps=1, batch_size=4)


# -- multi-session loaders and samplers ------------------------------------------------


def collections(offset=(2, 3), lengths=(120, 90, 140), neurons=(4, 6, 3)):
    foreign, ours = [], []
    for i, (n, c) in enumerate(zip(lengths, neurons)):
        f, o = pair(seed=i, n=n, neurons=c, offset=offset)
        foreign.append(f)
        ours.append(o)
    return LikeCollection(*foreign), ours


@pytest.mark.parametrize(
    "make",
    [
        lambda d: ContinuousMultiSessionDataLoader(d, num_steps=2, batch_size=8, seed=3),
        lambda d: ContinuousMultiSessionDataLoader(d, num_steps=2, batch_size=8,
                                                   conditional="time", seed=3),
        lambda d: DiscreteMultiSessionDataLoader(d, num_steps=2, batch_size=8, seed=3),
    ],
    ids=["time_delta", "time", "discrete"],
)
def test_multi_session_loader_draws_as_on_our_collection(make):
    foreign, ours = collections()
    foreign_loader, our_loader = make(foreign), make(DatasetCollection(ours))
    same_indices(foreign_loader.get_indices(), our_loader.get_indices())
    foreign_batches = next(iter(foreign_loader))
    assert [type(b) for b in foreign_batches] == [Batch] * 3
    assert [tuple(b.reference.shape) for b in foreign_batches] == [(8, 4, 5), (8, 6, 5), (8, 3, 5)]


def test_unified_loader_draws_as_on_our_unified_dataset():
    foreign, ours = collections()
    foreign_loader = UnifiedLoader(foreign, num_steps=1, batch_size=8, seed=5)
    our_loader = UnifiedLoader(UnifiedDataset(ours), num_steps=1, batch_size=8, seed=5)
    same_indices(foreign_loader.get_indices(), our_loader.get_indices())


@pytest.mark.parametrize("sampler", [MultisessionSampler, DiscreteMultisessionSampler, UnifiedSampler])
def test_samplers_use_the_window_mask_of_foreign_sessions(sampler):
    foreign, _ = collections(offset=(5, 6))
    s = sampler(foreign, seed=0)
    for session, valid in zip(foreign.iter_sessions(), s.valid):
        assert torch.equal(valid, window_mask(len(session), Offset(5, 6)))
    reference = torch.as_tensor(s.sample_prior(500))
    assert int(reference.min()) >= 5
    for row, n in zip(reference, (120, 90, 140)):
        assert int(row.max()) <= n - 6


def test_multi_session_loader_rebuilds_when_a_session_offset_changes_in_place():
    foreign, _ = collections(offset=(0, 1))
    loader = ContinuousMultiSessionDataLoader(foreign, num_steps=1, batch_size=64, seed=0)
    first = loader.sampler
    for session in foreign.iter_sessions():
        session.offset.left, session.offset.right = 20, 25
    idx = loader.get_indices()
    assert loader.sampler is not first
    assert int(idx.reference.min()) >= 20 and int(idx.negative.min()) >= 20


def test_multi_session_loader_rejects_a_single_foreign_session():
    foreign, _ = pair()
    with pytest.raises(TypeError, match="multi-session dataset.*got LikeDataset"):
        ContinuousMultiSessionDataLoader(foreign, num_steps=1, batch_size=4)


def test_sampler_rejects_sessions_without_length_or_offset():
    foreign, _ = collections()
    foreign._sessions[1] = object()
    with pytest.raises(TypeError, match="session 1 of LikeCollection is a object"):
        MultisessionSampler(foreign, seed=0)


# -- CEBRA's own datasets ------------------------------------------------------------------


def _cebra_datasets():
    pytest.importorskip("cebra")
    import cebra.datasets  # noqa: PLC0415 (optional dependency)

    return cebra.datasets


@pytest.mark.parametrize(
    "name, loader",
    [
        ("demo-discrete", DiscreteDataLoader),
        ("demo-continuous", ContinuousDataLoader),
        ("demo-mixed", MixedDataLoader),
    ],
)
def test_cebra_single_session_demo_datasets(name, loader):
    data = _cebra_datasets().init(name)
    n, left, right = len(data), data.offset.left, data.offset.right
    instance = loader(data, num_steps=2, batch_size=32, seed=0)
    idx = instance.get_indices(200)
    for part in ("reference", "positive", "negative"):
        values = getattr(idx, part)
        assert int(values.min()) >= left and int(values.max()) <= n - right
    batches = list(instance)
    assert len(batches) == 2 and type(batches[0]) is Batch
    assert batches[0].reference.shape == (32, data.input_dimension, left + right)


@pytest.mark.parametrize(
    "name, loader",
    [
        ("demo-continuous-multisession", ContinuousMultiSessionDataLoader),
        ("demo-discrete-multisession", DiscreteMultiSessionDataLoader),
    ],
)
def test_cebra_multi_session_demo_datasets(name, loader):
    data = _cebra_datasets().init(name)
    instance = loader(data, num_steps=1, batch_size=16, seed=0)
    idx = instance.get_indices()
    assert idx.reference.shape == (data.num_sessions, 16)
    for session_id, session in enumerate(data.iter_sessions()):
        row = idx.positive[session_id]
        assert int(row.min()) >= session.offset.left
        assert int(row.max()) <= len(session) - session.offset.right
    batches = next(iter(instance))
    assert [type(b) for b in batches] == [Batch] * data.num_sessions
    assert [b.reference.shape[1] for b in batches] == [
        s.input_dimension for s in data.iter_sessions()
    ]


def test_cebra_unified_demo_dataset():
    data = _cebra_datasets().init("demo-continuous-unified")
    batch = next(iter(UnifiedLoader(data, num_steps=1, batch_size=16, seed=0)))
    total = sum(s.input_dimension for s in data.iter_sessions())
    assert type(batch) is Batch
    assert batch.reference.shape == (16, total, len(data.get_session(0).offset))
