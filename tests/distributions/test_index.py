"""Every nearest-neighbour engine against a plain brute-force reference, ties included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cebra_data.distributions import index as index_module
from cebra_data.distributions.index import (
    BruteForceEngine,
    ConditionalIndex,
    ContinuousIndex,
    DistanceMatrix,
    MultiSessionIndex,
    OffsetDistanceMatrix,
    as_continuous,
    choose_engine,
    squared_distance,
)
from cebra_data.datatypes import Offset
from cebra_data.device import HasDevice
from cebra_data.errors import UnknownChoiceError

ENGINES = sorted(index_module.ENGINES)


def reference_search(points, queries, searchable, labels=None, query_labels=None):
    """The definition: canonical distance, then smallest time index among the closest.

    Written with numpy on a full (queries x points) matrix, independently of the engines.
    """
    x = points.double().numpy()
    q = queries.double().numpy()
    distance = (x[None, :, 0] - q[:, None, 0]) ** 2
    for j in range(1, x.shape[1]):
        distance = distance + (x[None, :, j] - q[:, None, j]) ** 2
    allowed = np.broadcast_to(searchable.numpy()[None, :], distance.shape).copy()
    if labels is not None:
        allowed &= labels.numpy()[None, :] == query_labels.numpy()[:, None]
    distance[~allowed] = np.inf
    best = distance.min(axis=1, keepdims=True)
    times = np.where(distance == best, np.arange(len(x))[None, :], len(x))
    return torch.from_numpy(times.min(axis=1))


def grid_case(seed: int, n: int, d: int):
    """Points on a coarse grid (many duplicates) and queries at grid midpoints (many ties)."""
    g = torch.Generator().manual_seed(seed)
    points = torch.randint(-3, 4, (n, d), generator=g).float() * 0.5
    queries = torch.randint(-8, 9, (97, d), generator=g).float() * 0.25
    valid = torch.rand(n, generator=g) > 0.25
    valid[int(torch.randint(0, n, (1,), generator=g))] = True
    return points, queries, valid


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(12))
def test_engines_match_reference_with_ties(engine, seed):
    d = 1 + seed % 4
    points, queries, valid = grid_case(seed, n=20 + 37 * seed, d=d)
    expected = reference_search(points, queries, valid)
    got = ContinuousIndex(points, valid=valid, engine=engine).search(queries)
    assert torch.equal(got, expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_match_reference_on_continuous_data(engine):
    g = torch.Generator().manual_seed(3)
    points = torch.randn(5000, 3, generator=g)
    queries = torch.randn(300, 3, generator=g) * 1.5
    valid = torch.rand(5000, generator=g) > 0.1
    expected = reference_search(points, queries, valid)
    assert torch.equal(ContinuousIndex(points, valid=valid, engine=engine).search(queries), expected)


def test_equidistant_distinct_points_resolve_to_smallest_time_index():
    # 1.0 and 3.0 are both at distance 1 from the query 2.0; 3.0 appears first in time
    points = torch.tensor([[3.0], [5.0], [1.0], [3.0]])
    for engine in ENGINES:
        index = ContinuousIndex(points, engine=engine)
        assert index.search(torch.tensor([[2.0]])).tolist() == [0]
        assert index.search(torch.tensor([[1.0]])).tolist() == [2]


def sphere_points():
    """The 30 integer points at distance exactly 5 from the origin in 3-D."""
    base = [(5, 0, 0), (3, 4, 0)]
    found = set()
    for a, b, c in base:
        for perm in {(a, b, c), (a, c, b), (b, a, c), (b, c, a), (c, a, b), (c, b, a)}:
            for sx in (1, -1):
                for sy in (1, -1):
                    for sz in (1, -1):
                        found.add((sx * perm[0], sy * perm[1], sz * perm[2]))
    return torch.tensor(sorted(found), dtype=torch.float32)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", range(6))
def test_many_tied_points_beyond_first_candidate_round(engine, seed):
    # 30 distinct points all exactly equidistant from the query: the first round
    # proposes only 8, so the engine must widen its search to find the smallest time index.
    sphere = sphere_points()
    assert len(sphere) == 30
    order = torch.randperm(30, generator=torch.Generator().manual_seed(seed))
    points = torch.cat([sphere[order], torch.full((5, 3), 9.0)])
    queries = torch.zeros(2, 3)
    expected = reference_search(points, queries, torch.ones(len(points), dtype=torch.bool))
    assert expected.tolist() == [0, 0]
    assert torch.equal(ContinuousIndex(points, engine=engine).search(queries), expected)


def test_float32_brute_force_falls_back_to_exact_answers():
    # two far-apart grids: float32 products carry errors larger than the grid's
    # distance differences, so the error bound must send queries to further rounds
    points, queries, valid = grid_case(5, n=400, d=3)
    shift = torch.zeros(400, 3)
    shift[::2, 0] = 3000.0
    points = points + shift
    queries = queries + torch.tensor([3000.0, 0.0, 0.0]) * (torch.arange(97)[:, None] % 2)
    expected = reference_search(points, queries, valid)
    rows = (valid & torch.isfinite(points).all(1)).nonzero().flatten()
    unique, representative = index_module._deduplicate(points, rows)
    engine = BruteForceEngine(unique, representative, compute_dtype=torch.float32)
    assert torch.equal(engine.search(queries), expected)


def test_brute_force_chunks_bound_memory(monkeypatch):
    monkeypatch.setattr(index_module, "CHUNK_ELEMENTS", 64)
    seen = []
    original = torch.Tensor.__matmul__

    def spy(a, b):
        out = original(a, b)
        seen.append(out.numel())
        return out

    monkeypatch.setattr(torch.Tensor, "__matmul__", spy)
    points, queries, valid = grid_case(7, n=500, d=2)
    got = ContinuousIndex(points, valid=valid, engine="brute").search(queries)
    assert torch.equal(got, reference_search(points, queries, valid))
    assert seen and max(seen) <= 97 * 8  # chunk = max(k, 64 // 97) columns, never all 500


def test_nan_rows_and_invalid_rows_are_never_returned():
    points = torch.tensor([[0.0], [float("nan")], [0.1], [5.0]])
    valid = torch.tensor([False, True, True, True])
    for engine in ENGINES:
        got = ContinuousIndex(points, valid=valid, engine=engine).search(torch.tensor([[0.0], [4.0]]))
        assert got.tolist() == [2, 3]


def test_no_searchable_row_is_an_error():
    with pytest.raises(ValueError, match="no searchable row"):
        ContinuousIndex(torch.tensor([[float("nan")], [1.0]]), valid=torch.tensor([True, False]))


def test_query_shape_and_values_are_checked():
    index = ContinuousIndex(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"shape \(B, 2\).*\(3, 3\)"):
        index.search(torch.zeros(3, 3))
    with pytest.raises(TypeError, match="floating point"):
        index.search(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        index.search(torch.full((1, 2), float("nan")))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8])
def test_integer_indices_are_accepted_with_values_unchanged(dtype):
    values = torch.tensor([[0, 3], [2, 1], [5, 5], [2, 1]], dtype=dtype)
    assert torch.equal(as_continuous(values), values.float())
    assert as_continuous(values).is_floating_point()
    queries = torch.tensor([[2.1, 1.2], [4.0, 4.0], [0.0, 2.0]])
    assert ContinuousIndex(values).search(queries).tolist() == [1, 2, 0]
    labels = torch.tensor([0, 1, 1, 0])
    got = ConditionalIndex(labels, values.numpy()).search(queries, discrete=torch.tensor([0, 1, 0]))
    assert got.tolist() == [3, 2, 0]
    matrix = DistanceMatrix(values)
    assert torch.equal(matrix.index, values.float())


def test_integer_indices_beyond_float32_stay_exact():
    big = torch.tensor([2**24, 2**24 + 1], dtype=torch.int64)
    values = as_continuous(big)
    assert values.dtype == torch.float64
    assert values[:, 0].long().tolist() == [2**24, 2**24 + 1]


def test_as_continuous_refuses_non_numeric_input():
    with pytest.raises(TypeError, match="bool"):
        as_continuous(torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match="list"):
        as_continuous([0.0, 1.0])
    with pytest.raises(ValueError, match="3-D"):
        ContinuousIndex(torch.zeros(2, 2, 2))


def test_engine_choice_and_unknown_engine():
    assert choose_engine("auto", 3, "cpu") == "kdtree"
    assert choose_engine("auto", index_module.KDTREE_MAX_DIM + 1, "cpu") == "brute"
    assert choose_engine("auto", 3, "cuda") == "brute"
    with pytest.raises(UnknownChoiceError, match="'brute', 'kdtree'"):
        ContinuousIndex(torch.zeros(4, 1), engine="faiss")


@pytest.mark.parametrize("engine", ENGINES)
def test_conditional_index_searches_within_label(engine):
    g = torch.Generator().manual_seed(11)
    points, queries, valid = grid_case(11, n=600, d=2)
    labels = torch.tensor([-7, 3, 10**9])[torch.randint(0, 3, (600,), generator=g)]
    query_labels = labels[valid.nonzero().flatten()][torch.randint(0, int(valid.sum()), (97,), generator=g)]
    index = ConditionalIndex(labels, points, valid=valid, engine=engine)
    expected = reference_search(points, queries, valid, labels, query_labels)
    assert torch.equal(index.search(queries, discrete=query_labels), expected)
    assert torch.equal(index[queries, query_labels], expected)
    assert torch.equal(index.search(queries), reference_search(points, queries, valid))


def test_conditional_index_errors():
    with pytest.raises(ValueError, match="discrete=None"):
        ConditionalIndex(None, torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"discrete \(2 samples\) and continuous \(3 samples\)"):
        ConditionalIndex(torch.zeros(2, dtype=torch.long), torch.zeros(3, 1))
    index = ConditionalIndex(torch.tensor([1, 1, 2]), torch.zeros(3, 1), valid=torch.tensor([True, True, False]))
    with pytest.raises(ValueError, match=r"label\(s\) \[2\]"):
        index.search(torch.zeros(1, 1), discrete=torch.tensor([2]))


def test_squared_distance_is_layout_independent():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 7, generator=g, dtype=torch.float64)
    q = torch.randn(7, generator=g, dtype=torch.float64)
    a = squared_distance(x, q)
    b = squared_distance(x.T.contiguous().T, q)  # same values, transposed memory layout
    assert torch.equal(a, b)
    assert torch.allclose(a, ((x - q) ** 2).sum(1))


def test_distance_matrix_kept_from_cebra():
    samples = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    query = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    matrix = DistanceMatrix(samples)(query)
    assert matrix.shape == (3, 2)
    assert torch.allclose(matrix, torch.cdist(samples, query) ** 2)
    masked = DistanceMatrix(samples)(query, mask=torch.tensor([True, False, True]))
    assert masked.shape == (2, 2)


# -- OffsetDistanceMatrix -------------------------------------------------------


def test_offset_distance_matrix_excludes_the_borders():
    samples = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    queries = torch.tensor([[0.0], [5.0], [2.2]])
    plain = DistanceMatrix(samples)(queries)
    matrix = OffsetDistanceMatrix(samples, offset=2)
    distances = matrix(queries)
    assert distances.shape == (6, 3)
    assert bool(torch.isinf(distances[[0, 1, 4, 5]]).all())
    assert torch.equal(distances[2:4], plain[2:4])
    assert distances.argmin(dim=0).tolist() == [2, 3, 2]
    assert plain.argmin(dim=0).tolist() == [0, 5, 2]


def test_offset_distance_matrix_default_offset_and_asymmetric_offset():
    samples = torch.arange(6.0)[:, None]
    default = OffsetDistanceMatrix(samples)(torch.tensor([[0.0]])).flatten()
    assert torch.isinf(default).tolist() == [True, False, False, False, False, True]
    asymmetric = OffsetDistanceMatrix(samples, offset=Offset(0, 2))(torch.tensor([[0.0]])).flatten()
    assert torch.isinf(asymmetric).tolist() == [False, False, False, False, True, True]


def test_offset_distance_matrix_with_mask_keeps_borders_masked():
    samples = torch.arange(5.0)[:, None]
    mask = torch.tensor([True, True, False, True, True])
    distances = OffsetDistanceMatrix(samples, offset=1)(torch.tensor([[1.0]]), mask=mask).flatten()
    assert distances.tolist() == [float("inf"), 0.0, 4.0, float("inf")]


def test_offset_distance_matrix_errors():
    with pytest.raises(ValueError, match="right bound"):
        OffsetDistanceMatrix(torch.zeros(5, 1), offset=0)
    with pytest.raises(ValueError, match="masks all 4 samples"):
        OffsetDistanceMatrix(torch.zeros(4, 1), offset=2)
    with pytest.raises(TypeError, match="integer"):
        OffsetDistanceMatrix(torch.zeros(5, 1), offset=1.5)


# -- MultiSessionIndex ----------------------------------------------------------


def test_multi_session_index_searches_every_session():
    g = torch.Generator().manual_seed(4)
    sessions = [torch.randn(n, 2, generator=g) for n in (30, 50, 7)]
    queries = torch.randn(9, 2, generator=g)
    index = MultiSessionIndex(*(ContinuousIndex(points) for points in sessions))
    assert index.num_sessions == 3
    got = index.search(queries)
    assert isinstance(got, list) and len(got) == 3
    for points, result in zip(sessions, got):
        assert torch.equal(result, reference_search(points, queries, torch.ones(len(points), dtype=torch.bool)))


def test_multi_session_index_accepts_conditional_indices():
    points = torch.tensor([[0.0], [1.0], [2.0]])
    index = MultiSessionIndex(ConditionalIndex(torch.tensor([0, 1, 1]), points), ContinuousIndex(points[:2]))
    assert [r.tolist() for r in index.search(torch.tensor([[1.8]]))] == [[2], [1]]


def test_multi_session_index_errors():
    with pytest.raises(ValueError, match="got none"):
        MultiSessionIndex()
    with pytest.raises(TypeError, match="session 1 got Tensor"):
        MultiSessionIndex(ContinuousIndex(torch.zeros(3, 1)), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="same feature dimension.*0: 1, 1: 2"):
        MultiSessionIndex(ContinuousIndex(torch.zeros(3, 1)), ContinuousIndex(torch.zeros(3, 2)))


def test_multi_session_index_has_a_device_and_moves_every_session():
    sessions = (ContinuousIndex(torch.zeros(3, 1)), ContinuousIndex(torch.ones(2, 1)))
    index = MultiSessionIndex(*sessions)
    assert isinstance(index, HasDevice) and index.device == "cpu"
    assert index.to("cpu") is index
    assert all(session.device == "cpu" for session in index.indices)
    assert [r.tolist() for r in index.search(torch.tensor([[0.9]]))] == [[0], [0]]
