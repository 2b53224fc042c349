"""Exact nearest-neighbour search over a continuous (and optionally discrete) index.

The conditional distributions find, for each query point, the time step whose
label is closest. This module answers that question exactly, with bounded
memory, using one of three engines:

* ``"sorted"`` -- for a one-dimensional index only: the distinct values
  sorted once, each query answered by a binary search (``searchsorted``) and
  a look at its two neighbours; ``O(log N)`` per query, on any device.
* ``"kdtree"`` -- a :class:`scipy.spatial.cKDTree` built once at
  construction; ``O(log N)`` per query. Used on the CPU for indices of at most
  :data:`KDTREE_MAX_DIM` dimensions (KD-trees lose their advantage beyond).
* ``"brute"`` -- chunked brute force in torch (a matrix product per chunk,
  keeping a running top-k), for GPU indices or many dimensions. Memory is
  bounded by :data:`CHUNK_ELEMENTS` distances at a time, never a full
  ``(batch, N)`` matrix.

``engine="auto"`` (the default) picks ``"sorted"`` for a one-dimensional
index, the KD-tree on the CPU when the index has at most
:data:`KDTREE_MAX_DIM` dimensions, and brute force otherwise.
:data:`ENGINES` lists the engines for any dimension; ``"sorted"`` is in
:data:`ONE_DIMENSIONAL_ENGINES`.

Distance and tie rule
---------------------
All engines return exactly the same answer, the one defined by:

1. the distance between a stored point ``x`` and a query ``q`` is
   :func:`squared_distance`: ``sum_j (float64(x_j) - float64(q_j))**2``,
   accumulated over ``j = 0, 1, ..., d - 1`` in that order;
2. among the searchable points at the smallest distance, the one with the
   **smallest time index** is returned.

Engines only propose candidates: each engine returns its ``k`` nearest points
by its own (fast, slightly inexact) arithmetic, together with a guaranteed
lower bound on the distance of every point it did not propose. The final
choice is made by rule 1 and 2 on the candidates; if the bound cannot rule out
a point outside the candidates, the query is repeated with twice as many
candidates. In one dimension no bound is needed: rounding is monotone, so on
each side of the query rule 1's distance never decreases away from it; the
``"sorted"`` engine compares the two neighbours of the query and, only when
the next point out is exactly as far (a tie), finds the whole run of tied
points by binary search. Exact duplicate rows are merged at construction (keeping the
smallest time index), so heavily quantised labels -- many samples at the same
position -- cost nothing extra.

Only *searchable* rows are ever returned: rows marked ``valid`` whose values
are all finite (rows containing ``NaN`` or ``inf`` are excluded automatically).
"""

from __future__ import annotations

import abc
from typing import Any, Dict, List, Optional, Tuple, Type

import numpy as np
import torch

from cebra_data._validation import check_choice, check_continuous
from cebra_data.datatypes import Offset
from cebra_data.device import DeviceLike, HasDevice, normalize_device
from cebra_data.distributions.base import Index, as_valid_mask

__all__ = [
    "KDTREE_MAX_DIM",
    "CHUNK_ELEMENTS",
    "ENGINES",
    "squared_distance",
    "as_continuous",
    "NearestNeighbourEngine",
    "KDTreeEngine",
    "BruteForceEngine",
    "SortedEngine",
    "ONE_DIMENSIONAL_ENGINES",
    "choose_engine",
    "DistanceMatrix",
    "OffsetDistanceMatrix",
    "ContinuousIndex",
    "ConditionalIndex",
    "MultiSessionIndex",
]

#: Largest index dimension for which ``engine="auto"`` uses a KD-tree on the CPU.
KDTREE_MAX_DIM = 16

#: Number of distances the brute-force engine holds at once (bounds its memory).
CHUNK_ELEMENTS = 1 << 22

#: Queries handled per call of an engine (bounds the ``(queries, k)`` candidate arrays).
_QUERY_CHUNK = 1 << 16

#: Candidates proposed per query in the first round: two suffice to prove that
#: the nearest point is unique; exact ties trigger further rounds with 4, 8, ... candidates.
_FIRST_K = 2

#: Relative slack for the engines' own floating point errors (distances are exact to ~1e-15).
_RELATIVE_SLACK = 1e-9

#: Larger than every time index: the time of a candidate that is not among the closest.
_NO_TIE = np.iinfo(np.int64).max


def squared_distance(points: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """The canonical squared Euclidean distance that defines every search result.

    Computed in float64 as ``sum_j (points[..., j] - query[..., j]) ** 2``,
    accumulated in the fixed order ``j = 0 .. d - 1``, one element-wise
    operation at a time. Element-wise IEEE arithmetic is exactly reproducible,
    so the result does not depend on memory layout, batch shape, engine or
    (for CPU and CUDA alike) device -- which makes ties well defined.

    Args:
        points: ``(..., d)`` tensor.
        query: tensor broadcastable against ``points``.

    Returns:
        The float64 squared distances, the broadcast shape without the last axis.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.index import squared_distance
        >>> squared_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([0.0, 0.0]))
        tensor([ 0., 25.], dtype=torch.float64)
    """
    points = points.double()
    query = query.double()
    total = (points[..., 0] - query[..., 0]).square()
    for j in range(1, points.shape[-1]):
        total = total + (points[..., j] - query[..., j]).square()
    return total


def as_continuous(values: Any, name: str = "continuous") -> torch.Tensor:
    """Return ``values`` as a floating point ``(N, d)`` tensor (a 1-D input becomes ``(N, 1)``).

    Delegates to :func:`cebra_data._validation.check_continuous`, the one check
    of continuous labels: floating point values keep their dtype, integer
    values (e.g. frame numbers) are accepted unchanged (as float32 while that
    is exact, float64 beyond ``2**24``).

    Raises:
        TypeError: if ``values`` is not a numeric tensor or array, or is boolean or complex.
        ValueError: if it has more than two dimensions or no column.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.index import as_continuous
        >>> as_continuous(torch.tensor([3, 1]))
        tensor([[3.],
                [1.]])
    """
    return check_continuous(values, name)


def _check_finite(query: torch.Tensor, name: str) -> None:
    """Refuse a query with ``NaN``/``inf`` (numpy on the CPU: a few microseconds)."""
    if query.device.type == "cpu" and query.dtype in (torch.float32, torch.float64):
        finite = np.isfinite(query.numpy()).all()
    else:
        finite = torch.isfinite(query).all()
    if not bool(finite):
        raise ValueError(f"{name} contains NaN or inf; every query must be finite.")


def _searchable(values: torch.Tensor, valid: Optional[torch.Tensor]) -> torch.Tensor:
    """Rows that may be returned: ``valid`` and finite in every column."""
    mask = torch.isfinite(values).all(dim=1)
    if valid is not None:
        mask = mask & valid.to(mask.device)
    return mask


def _deduplicate(values: torch.Tensor, rows: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Merge identical rows: distinct float64 points and the smallest time index of each.

    A lexicographic sort (stable sorts from the last column to the first) puts
    identical rows next to each other; ``O(N log N)`` and device-agnostic. The
    distinct points are returned in the time order of their first occurrence.
    """
    subset = values[rows]
    order = torch.arange(len(rows), device=rows.device)
    for column in reversed(range(subset.shape[1])):
        order = order[torch.argsort(subset[order, column], stable=True)]
    ordered = subset[order]
    starts_group = torch.ones(len(ordered), dtype=torch.bool, device=rows.device)
    starts_group[1:] = (ordered[1:] != ordered[:-1]).any(dim=1)
    group = torch.cumsum(starts_group, dim=0) - 1
    fill = torch.iinfo(torch.long).max
    representative = torch.full((int(starts_group.sum()),), fill, dtype=torch.long, device=rows.device)
    representative.scatter_reduce_(0, group, rows[order], reduce="amin")
    # back to time order: recordings move smoothly, so points close in time are
    # close in space and a search touches nearby memory
    in_time = torch.argsort(representative)
    return ordered[starts_group][in_time].double(), representative[in_time]


class NearestNeighbourEngine(abc.ABC):
    """Exact nearest-neighbour search over fixed points, with the module's tie rule.

    Subclasses implement :meth:`propose`; :meth:`search` turns proposals into
    exact answers (see the module docstring).

    Args:
        points: ``(U, d)`` float64 tensor of distinct points.
        representative: ``(U,)`` long tensor, the time index returned for each point.
    """

    def __init__(self, points: torch.Tensor, representative: torch.Tensor) -> None:
        if len(points) == 0:
            raise ValueError("A nearest-neighbour engine needs at least one point, but got none.")
        self.points = points
        self.representative = representative

    @property
    def num_points(self) -> int:
        """Number of distinct points stored."""
        return len(self.points)

    @abc.abstractmethod
    def propose(self, query: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Propose the ``k`` nearest points of each query row by the engine's arithmetic.

        Args:
            query: ``(B, d)`` float64 queries, on the engine's device.
            k: number of candidates, ``1 <= k <= num_points``.

        Returns:
            ``(candidates, bound)``: ``(B, k)`` point positions and, per query,
            a lower bound on :func:`squared_distance` of every point *not* in
            the candidates.
        """

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Return the time index of the nearest point to each query row (``(B,)`` long)."""
        query = query.to(self.points.device, torch.float64)
        if len(query) <= _QUERY_CHUNK:
            return self._search_chunk(query)
        return torch.cat(
            [self._search_chunk(query[start : start + _QUERY_CHUNK])
             for start in range(0, len(query), _QUERY_CHUNK)]
        )

    def _decide(self, query: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """One round: the rule's winner among ``k`` candidates, and whether it is proven."""
        candidates, bound = self.propose(query, k)
        distance = squared_distance(self.points[candidates], query[:, None, :])
        best = distance.min(dim=1, keepdim=True).values
        times = self.representative[candidates]
        no_tie = torch.iinfo(torch.long).max
        winner = torch.where(distance == best, times, torch.full_like(times, no_tie)).min(dim=1).values
        if k == self.num_points:
            return winner, torch.ones(len(query), dtype=torch.bool, device=query.device)
        return winner, bound.to(best.device) > best[:, 0]

    def _first_round(self, query: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The first round, with :data:`_FIRST_K` candidates (engines may do it faster)."""
        return self._decide(query, min(_FIRST_K, self.num_points))

    def _search_chunk(self, query: torch.Tensor) -> torch.Tensor:
        k = min(_FIRST_K, self.num_points)
        result, done = self._first_round(query)
        if bool(done.all()):
            return result
        pending = (~done).nonzero().flatten()
        while len(pending) > 0:  # rare: exact or near ties among the first candidates
            k = min(2 * k, self.num_points)
            winner, done = self._decide(query[pending], k)
            result[pending[done]] = winner[done]
            pending = pending[~done]
        return result


class KDTreeEngine(NearestNeighbourEngine):
    """Candidates from a :class:`scipy.spatial.cKDTree` (CPU, low dimension).

    The tree holds the float64 points; the engine shares that memory instead of
    keeping a second copy.
    """

    def __init__(self, points: torch.Tensor, representative: torch.Tensor) -> None:
        from scipy.spatial import cKDTree

        if points.device.type != "cpu":
            raise ValueError(
                f"The KD-tree engine runs on the CPU, but the points are on {points.device}. "
                "Use engine='brute' for GPU indices."
            )
        tree = cKDTree(points.numpy(), leafsize=16, balanced_tree=False, compact_nodes=True)
        super().__init__(torch.from_numpy(tree.data), representative)
        self.tree = tree
        # numpy views of the same memory for the first round (no torch dispatch per call)
        self._points_np = tree.data
        self._representative_np = representative.numpy()

    def propose(self, query: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        distance, position = self.tree.query(query.numpy(), k=k)
        if k == 1:
            distance, position = distance[:, None], position[:, None]
        # tree distances are Euclidean and exact to a few ulps; shrink by a safe margin
        kth = torch.from_numpy(np.ascontiguousarray(distance[:, -1])) * (1.0 - _RELATIVE_SLACK)
        return torch.from_numpy(position.astype(np.int64)), kth.square()

    def _first_round(self, query: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`_decide` with :data:`_FIRST_K` candidates, in numpy: the same arithmetic.

        The distances are rule 1's (float64 differences squared and summed
        column by column, element-wise IEEE operations as in
        :func:`squared_distance`), so the winners are those of :meth:`_decide`.
        """
        k = min(_FIRST_K, self.num_points)
        q = query.numpy()
        distance, position = self.tree.query(q, k=k)
        if k == 1:
            distance, position = distance[:, None], position[:, None]
        candidates = self._points_np[position]  # (B, k, d)
        with np.errstate(over="ignore"):  # as torch: overflow gives inf, no warning
            total = np.square(candidates[:, :, 0] - q[:, None, 0])
            for j in range(1, q.shape[1]):
                total = total + np.square(candidates[:, :, j] - q[:, None, j])
        best = total.min(axis=1)
        times = self._representative_np[position]
        winner = np.where(total == best[:, None], times, _NO_TIE).min(axis=1)
        if k == self.num_points:
            done = np.ones(len(q), dtype=bool)
        else:
            bound = np.square(distance[:, -1] * (1.0 - _RELATIVE_SLACK))
            done = bound > best
        return torch.from_numpy(winner), torch.from_numpy(done)


class BruteForceEngine(NearestNeighbourEngine):
    """Candidates from chunked brute force (any device, any dimension).

    Distances to one chunk of points at a time are computed with a matrix
    product on centred points, in float64 on the CPU and float32 on GPUs; a
    running top-k over the chunks yields the candidates. The lower bound
    accounts for the rounding error of that arithmetic, so results stay exact.

    Args:
        points: see :class:`NearestNeighbourEngine`.
        representative: see :class:`NearestNeighbourEngine`.
        compute_dtype: dtype of the matrix products; by default float64 on the
            CPU and float32 elsewhere.
    """

    def __init__(
        self,
        points: torch.Tensor,
        representative: torch.Tensor,
        compute_dtype: Optional[torch.dtype] = None,
    ) -> None:
        super().__init__(points, representative)
        if compute_dtype is None:
            compute_dtype = torch.float64 if points.device.type == "cpu" else torch.float32
        self.compute_dtype = compute_dtype
        self.center = points.mean(dim=0)
        centred = (points - self.center).to(compute_dtype)
        self._centred = centred
        self._sq_norm = centred.square().sum(dim=1)
        self._max_sq_norm = float(self._sq_norm.max())
        eps = torch.finfo(compute_dtype).eps
        # |computed - exact| <= (2 d + 8) eps (|x|^2 + |q|^2) covers the product and the sums
        self._error_factor = (2 * points.shape[1] + 8) * eps

    def propose(self, query: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        q = (query - self.center).to(self.compute_dtype)
        q_sq = q.square().sum(dim=1)
        chunk = max(k, CHUNK_ELEMENTS // max(len(q), 1))
        best_value = torch.empty((len(q), 0), dtype=self.compute_dtype, device=q.device)
        best_index = torch.empty((len(q), 0), dtype=torch.long, device=q.device)
        for start in range(0, self.num_points, chunk):
            stop = min(start + chunk, self.num_points)
            approx = (
                self._sq_norm[None, start:stop]
                + q_sq[:, None]
                - 2.0 * (q @ self._centred[start:stop].T)
            )
            value = torch.cat([best_value, approx], dim=1)
            index = torch.cat(
                [best_index, torch.arange(start, stop, device=q.device).expand(len(q), -1)], dim=1
            )
            keep = min(k, value.shape[1])
            value, where = torch.topk(value, keep, dim=1, largest=False, sorted=True)
            best_value, best_index = value, torch.gather(index, 1, where)
        error = self._error_factor * (self._max_sq_norm + q_sq.double())
        bound = (best_value[:, -1].double() - error) * (1.0 - _RELATIVE_SLACK)
        return best_index, bound


class SortedEngine(NearestNeighbourEngine):
    """Exact search over a one-dimensional index by binary search (any device).

    The distinct values are sorted once. For a query ``q``, ``searchsorted``
    finds its neighbours ``left < q <= right``. Rounding is monotone, so rule
    1's distance ``(x - q) ** 2`` never decreases from ``left`` leftwards nor
    from ``right`` rightwards: the nearest value is one of the two neighbours,
    and the values tied with it form one run of consecutive sorted values
    around them. The next values out (``left - 1``, ``right + 1``) tell
    whether the run is longer than the neighbours; only then (exact ties,
    e.g. for queries so far outside the range that differences round alike)
    the run's ends are found by binary search and the smallest time index
    over it is returned.

    Args:
        points: ``(U, 1)`` float64 tensor of distinct values (any order).
        representative: ``(U,)`` long tensor, the time index returned for each value.

    Raises:
        ValueError: if the points have more than one column.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.index import SortedEngine
        >>> engine = SortedEngine(torch.tensor([[3.0], [1.0], [5.0]], dtype=torch.float64), torch.tensor([0, 2, 1]))
        >>> engine.search(torch.tensor([[2.0], [4.4], [-9.0]]))
        tensor([0, 1, 2])
    """

    def __init__(self, points: torch.Tensor, representative: torch.Tensor) -> None:
        if points.dim() != 2 or points.shape[1] != 1:
            raise ValueError(
                "The 'sorted' engine searches a one-dimensional index, but got points of shape "
                f"{tuple(points.shape)}. Use engine='kdtree' or 'brute' for several columns."
            )
        order = torch.argsort(points[:, 0])
        super().__init__(points[order], representative[order].contiguous())
        self.values = self.points[:, 0].contiguous()
        # smallest time index of every prefix and suffix of the sorted values: a run of
        # tied values reaching an end of the range (far queries) is answered at once
        self._prefix_min = torch.cummin(self.representative, dim=0).values
        self._suffix_min = torch.cummin(self.representative.flip(0), dim=0).values.flip(0)
        if self.values.device.type == "cpu":
            self._values_np = self.values.numpy()
            self._representative_np = self.representative.numpy()

    def _distance(self, position: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Rule 1's distance from ``values[position]`` (clamped into ``[0, U)``) to ``query``."""
        return (self.values[position.clamp(0, self.num_points - 1)] - query).square()

    def propose(self, query: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The ``2 k`` sorted values around each query (all if fewer), and an exact bound.

        The ``k`` nearest values lie among the ``k`` on each side of the
        query; the bound is rule 1's distance to the nearest value outside
        the window (exact, by monotone rounding; ``inf`` if there is none).
        """
        q = query[:, 0]
        width = min(2 * k, self.num_points)
        start = (torch.searchsorted(self.values, q) - k).clamp(0, self.num_points - width)
        candidates = start[:, None] + torch.arange(width, device=q.device)
        inf = torch.full_like(q, float("inf"))
        below = torch.where(start > 0, self._distance(start - 1, q), inf)
        above = torch.where(start + width < self.num_points, self._distance(start + width, q), inf)
        return candidates, torch.minimum(below, above)

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Return the time index of the nearest value to each query row (``(B,)`` long)."""
        q = query.to(self.points.device, torch.float64)[:, 0]
        if q.device.type == "cpu":
            return self._search_numpy(q)
        return self._search_torch(q)

    def _search_torch(self, q: torch.Tensor) -> torch.Tensor:
        """:meth:`search` for ``(B,)`` float64 queries, in torch (any device)."""
        last = self.num_points - 1
        right = torch.searchsorted(self.values, q)
        left = right - 1
        has_left, has_right = left >= 0, right <= last
        d_left, d_right = self._distance(left, q), self._distance(right, q)
        both = has_left & has_right
        best = torch.where(both, torch.minimum(d_left, d_right), torch.where(has_left, d_left, d_right))
        t_left = self.representative[left.clamp_min(0)]
        t_right = self.representative[right.clamp_max(last)]
        take_left = has_left & (~has_right | (d_left < d_right))
        take_right = has_right & (~has_left | (d_right < d_left))
        result = torch.where(
            take_left, t_left, torch.where(take_right, t_right, torch.minimum(t_left, t_right))
        )
        # the run of tied values is longer than the neighbours only if the next value
        # out is exactly as far (its distance is never smaller)
        longer = ((left >= 1) & (self._distance(left - 1, q) == best)) | (
            (right < last) & (self._distance(right + 1, q) == best)
        )
        if bool(longer.any()):
            pending = longer.nonzero().flatten()
            result[pending] = self._resolve_runs(q[pending], left[pending], best[pending])
        return result

    def _search_numpy(self, q: torch.Tensor) -> torch.Tensor:
        """:meth:`_search_torch` on the CPU in numpy: the same arithmetic, less overhead."""
        values, times, last = self._values_np, self._representative_np, self.num_points - 1
        query = q.numpy()
        right = np.searchsorted(values, query)
        left = right - 1
        has_left, has_right = left >= 0, right <= last
        with np.errstate(over="ignore"):  # far queries: inf distances are exact ties (rule 1)
            d_left = np.square(values[np.maximum(left, 0)] - query)
            d_right = np.square(values[np.minimum(right, last)] - query)
            outer_left = np.square(values[np.maximum(left - 1, 0)] - query)
            outer_right = np.square(values[np.minimum(right + 1, last)] - query)
        best = np.where(
            has_left & has_right, np.minimum(d_left, d_right), np.where(has_left, d_left, d_right)
        )
        t_left, t_right = times[np.maximum(left, 0)], times[np.minimum(right, last)]
        take_left = has_left & (~has_right | (d_left < d_right))
        take_right = has_right & (~has_left | (d_right < d_left))
        result = np.where(
            take_left, t_left, np.where(take_right, t_right, np.minimum(t_left, t_right))
        )
        longer = ((left >= 1) & (outer_left == best)) | ((right < last) & (outer_right == best))
        result = torch.from_numpy(result)
        if longer.any():
            pending = torch.from_numpy(longer.nonzero()[0])
            result[pending] = self._resolve_runs(
                q[pending], torch.from_numpy(left)[pending], torch.from_numpy(best)[pending]
            )
        return result

    def _run_end(
        self, q: torch.Tensor, low: torch.Tensor, high: torch.Tensor, best: torch.Tensor, leftwards: bool
    ) -> torch.Tensor:
        """Binary search for the far end of each run of values at distance ``best``.

        Leftwards: the smallest position in ``[low, high]`` at distance ``best``
        (``high`` is at that distance); rightwards: the largest (``low`` is).
        """
        while bool((low < high).any()):
            if leftwards:
                middle = (low + high) // 2
                tied = self._distance(middle, q) == best
                high, low = torch.where(tied, middle, high), torch.where(tied, low, middle + 1)
            else:
                middle = (low + high + 1) // 2
                tied = self._distance(middle, q) == best
                low, high = torch.where(tied, middle, low), torch.where(tied, high, middle - 1)
        return low

    def _resolve_runs(self, q: torch.Tensor, left: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
        """The smallest time index over each query's whole run of tied values."""
        right = left + 1
        last = self.num_points - 1
        has_left = (left >= 0) & (self._distance(left, q) == best)
        has_right = (right <= last) & (self._distance(right, q) == best)
        lowest = torch.zeros_like(left)
        first = torch.where(
            has_left, self._run_end(q, lowest, left.clamp(0, last), best, leftwards=True), right
        )
        highest = torch.full_like(right, last)
        final = torch.where(
            has_right, self._run_end(q, right.clamp(0, last), highest, best, leftwards=False), left
        )
        result = torch.empty_like(left)
        for row, (a, b) in enumerate(zip(first.tolist(), final.tolist())):
            if a == 0:
                result[row] = self._prefix_min[b]
            elif b == last:
                result[row] = self._suffix_min[a]
            else:
                result[row] = self.representative[a : b + 1].min()
        return result


#: Engine registry: name -> class. ``"auto"`` is resolved by :func:`choose_engine`.
ENGINES: Dict[str, Type[NearestNeighbourEngine]] = {
    "kdtree": KDTreeEngine,
    "brute": BruteForceEngine,
}

#: Engines for a one-dimensional index only (``"auto"`` picks ``"sorted"`` there).
ONE_DIMENSIONAL_ENGINES: Dict[str, Type[NearestNeighbourEngine]] = {
    "sorted": SortedEngine,
}


def choose_engine(engine: str, dimension: int, device: DeviceLike) -> str:
    """Resolve an engine name; ``"auto"`` gives ``"sorted"`` for one dimension,
    ``"kdtree"`` on the CPU up to :data:`KDTREE_MAX_DIM` dimensions and
    ``"brute"`` otherwise.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown name.
        ValueError: for a one-dimensional engine (``"sorted"``) asked for
            several dimensions.

    Example:
        >>> from cebra_data.distributions.index import choose_engine
        >>> choose_engine("auto", 1, "cpu"), choose_engine("auto", 3, "cpu")
        ('sorted', 'kdtree')
    """
    check_choice(engine, "nearest-neighbour engine", ["auto", *ENGINES, *ONE_DIMENSIONAL_ENGINES])
    if engine in ONE_DIMENSIONAL_ENGINES and dimension != 1:
        raise ValueError(
            f"The {engine!r} engine searches a one-dimensional index, but the index has "
            f"{dimension} columns. Use engine='auto', 'kdtree' or 'brute'."
        )
    if engine != "auto":
        return engine
    if dimension == 1:
        return "sorted"
    on_cpu = torch.device(device).type == "cpu"
    return "kdtree" if on_cpu and dimension <= KDTREE_MAX_DIM else "brute"


def _build_engine(
    values: torch.Tensor, rows: torch.Tensor, engine: str
) -> NearestNeighbourEngine:
    points, representative = _deduplicate(values, rows)
    if engine == "kdtree":
        return KDTreeEngine(points.cpu(), representative.cpu())
    if engine in ONE_DIMENSIONAL_ENGINES:
        return ONE_DIMENSIONAL_ENGINES[engine](points, representative)
    return ENGINES[engine](points, representative)


def _as_query(query: Any, dimension: int, name: str = "query") -> torch.Tensor:
    if isinstance(query, np.ndarray):
        query = torch.from_numpy(query)
    if not isinstance(query, torch.Tensor) or not query.is_floating_point():
        raise TypeError(
            f"{name} should be a floating point tensor of shape (B, {dimension}), but got "
            f"{type(query).__name__}"
            + (f" of dtype {query.dtype}" if isinstance(query, torch.Tensor) else "")
            + "."
        )
    if query.dim() == 1 and dimension == 1:
        query = query[:, None]
    if query.dim() != 2 or query.shape[1] != dimension:
        raise ValueError(
            f"{name} should have shape (B, {dimension}) to match the index, but got shape "
            f"{tuple(query.shape)}."
        )
    _check_finite(query.detach(), name)
    return query


class DistanceMatrix(HasDevice):
    """Pairwise squared distances between stored samples and queries (kept from CEBRA).

    Returns the full ``(M, n)`` matrix ``|x|^2 + |q|^2 - 2 x.q`` like
    ``cebra.distributions.DistanceMatrix``. The samplers of this package do
    not use it -- it needs memory proportional to ``M * n``; use
    :class:`ContinuousIndex` for nearest-neighbour search.

    Args:
        samples: ``(M, d)`` floating point tensor.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import DistanceMatrix
        >>> DistanceMatrix(torch.tensor([[0.0], [2.0]]))(torch.tensor([[1.0]]))
        tensor([[1.],
                [1.]])
    """

    def __init__(self, samples: torch.Tensor) -> None:
        samples = as_continuous(samples, "samples")
        HasDevice.__init__(self, samples.device)
        self.index = samples
        self.xTx = samples.square().sum(dim=1, keepdim=True)

    def __call__(self, query: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Return the ``(M, n)`` (or ``(mask.sum(), n)``) squared distances to ``query`` ``(n, d)``."""
        query = _as_query(query, self.index.shape[1]).to(self.index.device, self.index.dtype)
        index, xTx = (self.index, self.xTx) if mask is None else (self.index[mask], self.xTx[mask])
        qTq = query.square().sum(dim=1, keepdim=True).T
        return xTx + qTq - 2.0 * (index @ query.T)


class OffsetDistanceMatrix(DistanceMatrix):
    """A :class:`DistanceMatrix` whose border samples are never closest (kept from CEBRA).

    For models that look at several time steps at once, the first
    ``offset.left`` and the last ``offset.right`` samples lack a full window.
    Their squared norm is set to ``inf``, so every distance to them is ``inf``
    and an ``argmin`` over the matrix never picks them -- the behaviour of
    ``cebra.distributions.index.OffsetDistanceMatrix``.

    Args:
        samples: ``(M, d)`` (or ``(M,)``) tensor; integer values are accepted unchanged.
        offset: the border width: an integer ``k`` (``k`` samples on each side,
            as in CEBRA), or a :class:`~cebra_data.Offset` for different
            left and right widths.

    Raises:
        ValueError: for an offset below 1 (via :class:`~cebra_data.Offset`), or
            one that leaves no sample between the borders.
        TypeError: for a non-integer offset.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.index import OffsetDistanceMatrix
        >>> distances = OffsetDistanceMatrix(torch.arange(5.0), offset=1)(torch.tensor([[0.0]]))
        >>> distances.flatten().tolist()
        [inf, 1.0, 4.0, 9.0, inf]
        >>> int(distances.argmin())
        1
    """

    def __init__(self, samples: torch.Tensor, offset: int = 1) -> None:
        super().__init__(samples)
        self.offset = Offset(offset)
        if len(self.offset) >= len(self.index):
            raise ValueError(
                f"The offset {self.offset!r} masks all {len(self.index)} samples; it should leave "
                "at least one sample between the borders (use a smaller offset or more samples)."
            )
        self.inf = torch.tensor(float("inf"))
        self.offset.mask_array(self.xTx, self.inf)


class ContinuousIndex(Index):
    """Exact nearest-neighbour search over a continuous index.

    Args:
        index: ``(N, d)`` (or ``(N,)``) floating point tensor, one row per time step.
        valid: optional boolean ``(N,)``; only rows marked ``True`` (and finite)
            are ever returned.
        engine: ``"auto"``, ``"kdtree"`` or ``"brute"`` (see the module docstring).

    Raises:
        TypeError: for a non-floating point index.
        ValueError: if no row is searchable.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import ContinuousIndex
        >>> index = ContinuousIndex(torch.tensor([[0.0], [1.0], [1.0], [3.0]]))
        >>> index.search(torch.tensor([[0.9], [2.0], [-5.0]]))
        tensor([1, 1, 0])
    """

    def __init__(self, index: torch.Tensor, valid: Optional[torch.Tensor] = None, engine: str = "auto") -> None:
        values = as_continuous(index, "index")
        HasDevice.__init__(self, values.device)
        self.values = values
        self.valid = as_valid_mask(valid, len(values), str(values.device))
        self.engine_name = choose_engine(engine, values.shape[1], values.device)
        self._requested_engine = engine
        self.searchable = _searchable(values, self.valid)
        rows = self.searchable.nonzero().flatten()
        if len(rows) == 0:
            raise ValueError(
                "The continuous index has no searchable row: every row is either marked "
                "invalid or contains NaN/inf."
            )
        self.engine = _build_engine(values, rows, self.engine_name)

    @property
    def dimension(self) -> int:
        """Number of columns of the index."""
        return self.values.shape[1]

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Return the time index of the nearest searchable row for each query row.

        Args:
            query: ``(B, d)`` floating point tensor (``(B,)`` for a 1-D index).

        Returns:
            ``(B,)`` long tensor on the index's device; ties go to the smallest time index.
        """
        query = _as_query(query, self.dimension)
        return self.engine.search(query).to(self.device)

    def _search_trusted(self, query: torch.Tensor) -> torch.Tensor:
        """:meth:`search` for queries a distribution of this package built itself.

        Such queries are ``(B, d)`` floating point tensors by construction, so
        only their finiteness is checked (an overflow could still make one
        infinite). The same result as :meth:`search`.
        """
        _check_finite(query, "query")
        return self.engine.search(query).to(self.device)

    def to(self, device: DeviceLike) -> "ContinuousIndex":
        """Move the index to ``device`` (rebuilding the engine if its choice changes)."""
        device = normalize_device(device)
        HasDevice.to(self, device)
        name = choose_engine(self._requested_engine, self.dimension, device)
        if name != self.engine_name or name != "kdtree":  # only the KD-tree stays on the CPU
            self.engine_name = name
            self.engine = _build_engine(self.values, self.searchable.nonzero().flatten(), name)
        return self


class ConditionalIndex(Index):
    """Exact nearest-neighbour search restricted to samples sharing a discrete label.

    One engine per discrete label (e.g. a KD-tree per class on the CPU), built at
    construction. A search with labels groups the queries by label and asks
    each class's engine once per batch.

    Args:
        discrete: ``(N,)`` integer labels (any integers).
        continuous: ``(N, d)`` floating point index.
        valid: optional boolean ``(N,)``; only rows marked ``True`` (and with a
            finite continuous value) are ever returned.
        engine: ``"auto"``, ``"kdtree"`` or ``"brute"``.

    Raises:
        ValueError: if ``discrete`` is ``None``, not 1-D, or of another length
            than ``continuous``; if no row is searchable.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import ConditionalIndex
        >>> index = ConditionalIndex(torch.tensor([0, 0, 7, 7]), torch.tensor([[0.0], [1.0], [2.0], [3.0]]))
        >>> index.search(torch.tensor([[0.2], [0.2]]), discrete=torch.tensor([0, 7]))
        tensor([0, 2])
    """

    def __init__(
        self,
        discrete: torch.Tensor,
        continuous: torch.Tensor,
        valid: Optional[torch.Tensor] = None,
        engine: str = "auto",
    ) -> None:
        values = as_continuous(continuous, "continuous")
        if discrete is None:
            raise ValueError(
                "ConditionalIndex needs discrete labels, but got discrete=None. "
                "Use ContinuousIndex to search without labels."
            )
        labels = torch.as_tensor(discrete) if not isinstance(discrete, torch.Tensor) else discrete
        if labels.dim() != 1:
            raise ValueError(
                f"discrete should be 1-D (one label per time step), but got shape "
                f"{tuple(labels.shape)}. Combine several label columns into one first."
            )
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise TypeError(f"discrete should hold integer labels, but got dtype {labels.dtype}.")
        if len(labels) != len(values):
            raise ValueError(
                f"discrete ({len(labels)} samples) and continuous ({len(values)} samples) "
                "should have one row per time step each."
            )
        HasDevice.__init__(self, values.device)
        self.discrete = labels.long().to(values.device)
        self.continuous = values
        self.valid = as_valid_mask(valid, len(values), str(values.device))
        self._requested_engine = engine
        self.engine_name = choose_engine(engine, values.shape[1], values.device)
        self.searchable = _searchable(values, self.valid)
        self._global: Optional[NearestNeighbourEngine] = None
        self._build()

    def _build(self) -> None:
        rows = self.searchable.nonzero().flatten()
        if len(rows) == 0:
            raise ValueError(
                "The index has no searchable row: every row is either marked invalid or "
                "has a NaN/inf continuous value."
            )
        labels = self.discrete[rows]
        order = torch.argsort(labels, stable=True)
        rows, labels = rows[order], labels[order]
        self.labels, counts = torch.unique_consecutive(labels, return_counts=True)
        self.engines = [
            _build_engine(self.continuous, class_rows, self.engine_name)
            for class_rows in torch.split(rows, counts.tolist())
        ]
        self._global = None
        # the engine of every searchable time step's label (-1 for the others): the
        # distributions look up their references' classes with one gather
        code = torch.searchsorted(self.labels, self.discrete).clamp_max(len(self.labels) - 1)
        known = self.searchable & (self.labels[code] == self.discrete)
        self._step_code = torch.where(known, code, torch.full_like(code, -1))

    @property
    def dimension(self) -> int:
        """Number of columns of the continuous index."""
        return self.continuous.shape[1]

    def search(self, continuous: torch.Tensor, discrete: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Return the nearest searchable time index for each query row.

        Args:
            continuous: ``(B, d)`` floating point queries.
            discrete: optional ``(B,)`` labels; when given, the result for row
                ``i`` is searched only among samples labelled ``discrete[i]``.

        Returns:
            ``(B,)`` long tensor; ties go to the smallest time index.

        Raises:
            ValueError: if a label has no searchable sample.
        """
        query = _as_query(continuous, self.dimension, "continuous")
        if discrete is None:
            if self._global is None:
                self._global = _build_engine(
                    self.continuous, self.searchable.nonzero().flatten(), self.engine_name
                )
            return self._global.search(query).to(self.device)
        labels = torch.as_tensor(discrete).to(self.labels.device).long().flatten()
        if len(labels) != len(query):
            raise ValueError(
                f"discrete ({len(labels)} labels) and continuous ({len(query)} queries) "
                "should have the same length."
            )
        code = torch.searchsorted(self.labels, labels).clamp_max(len(self.labels) - 1)
        unknown = self.labels[code] != labels
        if bool(unknown.any()):
            missing = torch.unique(labels[unknown])[:10].tolist()
            raise ValueError(
                f"No searchable sample has the discrete label(s) {missing}. Labels with "
                f"searchable samples are {self.labels[:10].tolist()}"
                + (" ..." if len(self.labels) > 10 else "")
                + "."
            )
        return self._search_codes(query, code)

    def _search_steps(self, query: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """Search query ``i`` among the samples labelled like time step ``steps[i]``.

        For a distribution of this package: ``steps`` are searchable time
        steps (a long tensor on the index's device) and ``query`` a ``(B, d)``
        floating point tensor it built; only the queries' finiteness is
        checked. The same result as :meth:`search` with ``discrete[steps]``.
        """
        _check_finite(query, "continuous")
        return self._search_codes(query, self._step_code.index_select(0, steps))

    def _search_codes(self, query: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """Search each query row with the engine ``self.engines[code[i]]``."""
        if len(self.engines) == 1:
            return self.engines[0].search(query).to(self.device)
        code = code.to(query.device)
        order = torch.argsort(code, stable=True)
        counts = torch.bincount(code, minlength=len(self.engines)).tolist()
        grouped = query.index_select(0, order)
        found, start = [], 0
        for class_code, count in enumerate(counts):
            if count:
                engine = self.engines[class_code]
                found.append(engine.search(grouped[start : start + count]).to(self.device))
            start += count
        result = torch.empty(len(query), dtype=torch.long, device=self.device)
        result[order.to(self.device)] = torch.cat(found)
        return result

    def __getitem__(self, value: Tuple[torch.Tensor, Optional[torch.Tensor]]) -> torch.Tensor:
        """``index[continuous, discrete]`` is ``index.search(continuous, discrete)``."""
        continuous, discrete = value
        return self.search(continuous, discrete)

    def to(self, device: DeviceLike) -> "ConditionalIndex":
        """Move the index to ``device`` and rebuild its engines for it."""
        device = normalize_device(device)
        HasDevice.to(self, device)
        self.engine_name = choose_engine(self._requested_engine, self.dimension, device)
        self._build()
        return self


class MultiSessionIndex(Index):
    """One index per session, searched with the same query (kept from CEBRA).

    Its :attr:`device` is that of the first session's index; ``.to(device)``
    moves every session's index.

    Args:
        *indices: one index per session, each with a ``search(query)`` method
            (e.g. :class:`ContinuousIndex`); indices that state their
            ``dimension`` must agree on it.

    Raises:
        ValueError: if no index is given or the dimensions differ.
        TypeError: if an argument has no ``search`` method.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.index import ContinuousIndex, MultiSessionIndex
        >>> index = MultiSessionIndex(
        ...     ContinuousIndex(torch.tensor([[0.0], [1.0], [2.0]])),
        ...     ContinuousIndex(torch.tensor([[2.0], [0.5]])),
        ... )
        >>> index.search(torch.tensor([[1.9], [0.1]]))
        [tensor([2, 0]), tensor([0, 1])]
    """

    def __init__(self, *indices: Index) -> None:
        if len(indices) == 0:
            raise ValueError("MultiSessionIndex needs one index per session, but got none.")
        for session, index in enumerate(indices):
            if not callable(getattr(index, "search", None)):
                raise TypeError(
                    f"Every session needs an index with a search(query) method (e.g. "
                    f"ContinuousIndex), but session {session} got {type(index).__name__}."
                )
        dimensions = {
            session: index.dimension
            for session, index in enumerate(indices)
            if isinstance(getattr(index, "dimension", None), int)
        }
        if len(set(dimensions.values())) > 1:
            raise ValueError(
                "The session indices should have the same feature dimension, but got "
                f"dimensions {dimensions} (session: dimension)."
            )
        HasDevice.__init__(self, getattr(indices[0], "device", None))
        self.indices = indices

    @property
    def num_sessions(self) -> int:
        """Number of sessions (indices)."""
        return len(self.indices)

    def search(self, query: torch.Tensor) -> List[torch.Tensor]:
        """Return the closest element of every session to each query row.

        Args:
            query: ``(B, d)`` queries, passed unchanged to every session's index.

        Returns:
            A list with one ``(B,)`` long tensor per session, in session order.
        """
        return [index.search(query) for index in self.indices]
