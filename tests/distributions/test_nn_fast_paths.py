"""The fast nearest-neighbour paths give exactly the answers of the definition.

* the one-dimensional ``"sorted"`` engine (numpy path, torch path and the
  generic candidate rounds) against a plain brute force, with ties,
  duplicates, NaN and invalid rows, queries outside the range, signed zeros,
  rounding ties and float32/float64 inputs;
* the KD-tree's numpy first round against the torch round it replaces;
* the loaders' trusted conditionals (no re-validation) against the public ones.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cebra_data.distributions import (
    ConditionalIndex,
    ContinuousIndex,
    DeltaNormalDistribution,
    DirectTimedeltaDistribution,
    MixedTimeDeltaDistribution,
    TimedeltaDistribution,
)
from cebra_data.distributions.index import (
    KDTreeEngine,
    NearestNeighbourEngine,
    SortedEngine,
    choose_engine,
)

INF = float("inf")


def brute_force(values, queries, allowed):
    """The definition, on a full (queries x points) matrix in float64 numpy.

    Distance ``(float64(x) - float64(q)) ** 2``; among the allowed points at the
    smallest distance (even if that distance overflowed to inf), the smallest time index.
    """
    x = torch.as_tensor(values).double().reshape(len(values), -1).numpy()
    q = torch.as_tensor(queries).double().reshape(len(queries), -1).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        distance = (x[None, :, 0] - q[:, None, 0]) ** 2
        for j in range(1, x.shape[1]):
            distance = distance + (x[None, :, j] - q[:, None, j]) ** 2
    ok = np.broadcast_to(np.asarray(allowed)[None, :], distance.shape) & ~np.isnan(distance)
    best = np.where(ok, distance, np.inf).min(axis=1, keepdims=True)
    tied = ok & (distance == best)
    times = np.where(tied, np.arange(len(x))[None, :], len(x))
    return torch.from_numpy(times.min(axis=1))


def searchable(values, valid):
    return (valid & torch.isfinite(values).reshape(len(values), -1).all(1)).numpy()


def sorted_engine_of(index: ContinuousIndex) -> SortedEngine:
    assert index.engine_name == "sorted" and isinstance(index.engine, SortedEngine)
    return index.engine


def all_answers(index: ContinuousIndex, queries: torch.Tensor):
    """The public search, the torch path, and the generic candidate rounds (propose)."""
    engine = sorted_engine_of(index)
    q64 = queries.double().reshape(-1, 1)
    return {
        "search": index.search(queries),
        "torch": engine._search_torch(q64[:, 0]),
        "rounds": NearestNeighbourEngine.search(engine, q64),
    }


def random_case(seed: int, dtype: torch.dtype):
    """Grid values (duplicates, ties), random values, signed zeros, NaN/inf and invalid rows."""
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 300, (1,), generator=g))
    grid = torch.randint(-6, 7, (n,), generator=g).double() * 0.5
    smooth = torch.randn(n, generator=g, dtype=torch.float64) * 3
    values = torch.where(torch.rand(n, generator=g) < 0.6, grid, smooth)
    values[torch.rand(n, generator=g) < 0.08] = 0.0
    values[torch.rand(n, generator=g) < 0.08] = -0.0
    values[torch.rand(n, generator=g) < 0.05] = float("nan")
    values[torch.rand(n, generator=g) < 0.03] = INF
    values = values.to(dtype)
    valid = torch.rand(n, generator=g) > 0.2
    finite = torch.isfinite(values)
    if not bool((valid & finite).any()):
        values[0], valid[0] = 1.25, True
    queries = torch.cat(
        [
            torch.randint(-16, 17, (60,), generator=g).double() * 0.25,  # midpoints: ties
            torch.randn(40, generator=g, dtype=torch.float64) * 5,
            torch.tensor([0.0, -0.0, 1e6, -1e6, 40.0, -40.0, 1e30, -1e30], dtype=torch.float64),
        ]
    )
    return values, valid, queries


@pytest.mark.parametrize("index_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("query_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", range(15))
def test_sorted_engine_matches_brute_force(seed, index_dtype, query_dtype):
    values, valid, queries = random_case(seed, index_dtype)
    queries = queries.to(query_dtype)
    index = ContinuousIndex(values, valid=valid)  # auto: "sorted" for one column
    expected = brute_force(values, queries, searchable(values, valid))
    for path, got in all_answers(index, queries).items():
        assert torch.equal(got, expected), path


def test_sorted_engine_matches_brute_force_for_2d_shaped_1d_index():
    values, valid, queries = random_case(99, torch.float32)
    index = ContinuousIndex(values[:, None], valid=valid)
    assert index.engine_name == "sorted"
    expected = brute_force(values, queries, searchable(values, valid))
    assert torch.equal(index.search(queries[:, None].float()), expected)


def test_equidistant_neighbours_go_to_the_smallest_time_index():
    values = torch.tensor([3.0, 5.0, 1.0, 3.0, 1.0])
    index = ContinuousIndex(values)
    # 2.0 is equally far from 1.0 (steps 2, 4) and 3.0 (steps 0, 3): step 0
    for path, got in all_answers(index, torch.tensor([2.0, 4.0, 1.0, 0.0])).items():
        assert got.tolist() == [0, 0, 2, 2], path


def test_signed_zeros_are_one_value():
    values = torch.tensor([1.0, -0.0, 0.0, -1.0])
    index = ContinuousIndex(values)
    expected = brute_force(values, torch.tensor([0.0, -0.0, 0.4, -0.4]), np.ones(4, dtype=bool))
    assert expected.tolist() == [1, 1, 1, 1]
    for path, got in all_answers(index, torch.tensor([0.0, -0.0, 0.4, -0.4])).items():
        assert torch.equal(got, expected), path


def test_rounding_ties_far_outside_the_range_use_the_whole_run():
    # far from the query, 0 and the tiny values round to the same difference: a run of
    # tied values that the two neighbours alone do not show
    values = torch.tensor([2e-300, -1e30, 1e-300, 0.0, 3e-300, 1e20], dtype=torch.float64)
    queries = torch.tensor([1e10, -1e10, 1e40, -1e40, 5e19, 1e-300], dtype=torch.float64)
    expected = brute_force(values, queries, np.ones(6, dtype=bool))
    assert expected[0] == 0  # the earliest of the tied tiny values, not the neighbour 3e-300
    index = ContinuousIndex(values)
    for path, got in all_answers(index, queries).items():
        assert torch.equal(got, expected), path


def test_underflow_and_overflow_ties():
    # (1e-200)**2 underflows to 0 like (2e-200)**2: ties on both sides of the query;
    # (1e200 - -1e200)**2 overflows to inf for every value: the earliest valid step wins
    values = torch.tensor([2e-200, 5.0, -1e-200, 1e-200, -3e-200], dtype=torch.float64)
    queries = torch.tensor([0.0, 1e200, -1e200, 1e-200], dtype=torch.float64)
    allowed = np.array([True, True, False, True, True])
    expected = brute_force(values, queries, allowed)
    index = ContinuousIndex(values, valid=torch.from_numpy(allowed))
    for path, got in all_answers(index, queries).items():
        assert torch.equal(got, expected), path


def test_long_runs_in_the_middle_and_at_both_ends():
    # many distinct tiny values between big ones: runs that touch neither end
    tiny = torch.arange(1, 41, dtype=torch.float64) * 1e-300
    order = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    values = torch.cat([torch.tensor([-1e30]), tiny[order], torch.tensor([0.0, 1e30])])
    queries = torch.tensor([1e10, -1e10, 1e31, -1e31, 0.5e-300], dtype=torch.float64)
    expected = brute_force(values, queries, np.ones(len(values), dtype=bool))
    index = ContinuousIndex(values)
    for path, got in all_answers(index, queries).items():
        assert torch.equal(got, expected), path


def test_single_value_and_nan_rows():
    values = torch.tensor([float("nan"), 7.0, float("nan")])
    index = ContinuousIndex(values)
    for path, got in all_answers(index, torch.tensor([-3.0, 7.0, 1e30])).items():
        assert got.tolist() == [1, 1, 1], path


def test_sorted_engine_agrees_with_the_kdtree_engine_on_a_recording():
    g = torch.Generator().manual_seed(5)
    values = (torch.randn(20000, generator=g) * 0.05).cumsum(0)
    values[::97] = values[3]  # exact duplicates
    valid = torch.rand(20000, generator=g) > 0.1
    queries = torch.cat([values[torch.randint(0, 20000, (500,), generator=g)] + 0.01, values[:300]])
    fast = ContinuousIndex(values, valid=valid)
    tree = ContinuousIndex(values, valid=valid, engine="kdtree")
    assert fast.engine_name == "sorted"
    assert torch.equal(fast.search(queries), tree.search(queries))


def test_one_dimensional_engine_choice():
    assert choose_engine("auto", 1, "cpu") == "sorted"
    assert choose_engine("auto", 1, "cuda") == "sorted"
    assert choose_engine("sorted", 1, "cpu") == "sorted"
    with pytest.raises(ValueError, match="one-dimensional index, but the index has 2 columns"):
        ContinuousIndex(torch.zeros(4, 2), engine="sorted")
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        SortedEngine(torch.zeros(3, 2, dtype=torch.float64), torch.arange(3))
    index = ContinuousIndex(torch.tensor([0.0, 2.0])).to("cpu")
    assert index.engine_name == "sorted"
    assert index.search(torch.tensor([1.5])).tolist() == [1]


# -- the KD-tree's numpy first round -------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_kdtree_numpy_first_round_equals_the_torch_round(seed):
    g = torch.Generator().manual_seed(seed)
    d = 2 + seed % 3
    grid = torch.randint(-3, 4, (400, d), generator=g).double() * 0.5
    points = torch.unique(torch.cat([grid, torch.randn(100, d, generator=g, dtype=torch.float64)]), dim=0)
    representative = torch.randperm(len(points), generator=g)
    engine = KDTreeEngine(points, representative)
    queries = torch.cat([torch.randint(-8, 9, (97, d), generator=g).double() * 0.25,
                         torch.randn(50, d, generator=g, dtype=torch.float64) * 4])
    fast_winner, fast_done = engine._first_round(queries)
    slow_winner, slow_done = engine._decide(queries, 2)
    assert torch.equal(fast_done, slow_done)
    assert torch.equal(fast_winner[fast_done], slow_winner[slow_done])
    assert bool((~fast_done).any())  # the grid midpoints do tie
    expected = brute_force(points[torch.argsort(representative)], queries, np.ones(len(points), dtype=bool))
    assert torch.equal(engine.search(queries), expected)


# -- trusted conditionals: the same draws as the public ones -------------------------


def recording(n: int = 3000, d: int = 1, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    continuous = (torch.randn(n, d, generator=g) * 0.05).cumsum(0)
    continuous[::50] = continuous[7]  # duplicates
    continuous[100:103] = float("nan")
    labels = torch.randint(0, 5, (n,), generator=g)
    valid = torch.ones(n, dtype=torch.bool)
    valid[:5] = valid[-5:] = False
    return continuous, labels, valid


def pair_up(make):
    """Two distributions with the same seed: public path and trusted path, drawn alike."""
    public, trusted = make(), make()
    for _ in range(3):
        reference = public.sample_prior(256)
        assert torch.equal(reference, trusted.sample_prior(256))
        expected = public.sample_conditional(reference)
        got = trusted._sample_conditional_trusted(reference)
        assert torch.equal(got, expected)
    return expected


@pytest.mark.parametrize("d", [1, 3])
def test_trusted_conditionals_equal_the_public_ones(d):
    continuous, labels, valid = recording(d=d)
    pair_up(lambda: TimedeltaDistribution(continuous, time_delta=3, seed=1, valid=valid))
    pair_up(lambda: DeltaNormalDistribution(continuous, delta=0.1, seed=2, valid=valid))
    pair_up(lambda: DirectTimedeltaDistribution(continuous, time_offset=2, seed=3, valid=valid))
    positive = pair_up(
        lambda: MixedTimeDeltaDistribution(labels, continuous, time_delta=2, seed=4, valid=valid)
    )
    assert bool(valid[positive].all())


def test_trusted_path_keeps_a_subclass_conditional():
    continuous, _, _ = recording()

    class Shifted(TimedeltaDistribution):
        def sample_conditional(self, reference_idx):
            return reference_idx + 1

    dist = Shifted(continuous, seed=0)
    reference = dist.sample_prior(10)
    assert torch.equal(dist._sample_conditional_trusted(reference), reference + 1)


def test_conditional_index_search_by_steps_equals_search_by_labels():
    continuous, labels, valid = recording(d=2)
    index = ConditionalIndex(labels, continuous, valid=valid)
    g = torch.Generator().manual_seed(8)
    steps = index.searchable.nonzero().flatten()[torch.randint(0, int(index.searchable.sum()), (300,), generator=g)]
    queries = torch.randn(300, 2, generator=g).double()
    expected = index.search(queries, discrete=labels[steps])
    assert torch.equal(index._search_steps(queries, steps), expected)
    allowed = searchable(continuous, valid) & (labels.numpy()[None, :] == labels[steps].numpy()[:, None])
    for row in range(0, 300, 37):
        assert expected[row] == brute_force(continuous, queries[row : row + 1], allowed[row])[0]


def test_trusted_queries_are_still_checked_for_overflow():
    big = torch.full((50, 1), 3e38)
    big[::2] = -3e38  # differences of 6e38 overflow float32
    dist = TimedeltaDistribution(big, time_delta=1, seed=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        for _ in range(20):
            dist._sample_conditional_trusted(dist.sample_prior(64))
