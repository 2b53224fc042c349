"""Sampling across several sessions that share one behaviour space.

Sessions (animals, days) differ in length and in their number of neurons but
share the dimension of their index, so a positive for a reference of one
session can be searched in *another* session. That is how one embedding
space aligns them all.

The scheme of :class:`MultisessionSampler` (as in CEBRA):

1. **References** are drawn per session: ``reference`` has shape
   ``(num_sessions, batch)`` and row ``s`` holds time steps of session ``s``.
2. **Queries**: each reference's behaviour plus a random empirical
   ``time_offset``-step change of the behaviour (pooled over all sessions).
3. **Assignment**: a uniformly random permutation ``index`` of the
   ``num_sessions * batch`` stacked queries assigns them to sessions:
   flat position ``k`` (session ``k // batch``) receives query ``index[k]``.
   Every session thus gets exactly ``batch`` queries; a query lands in its
   own session with probability about ``1 / num_sessions``.
4. **Positives**: ``positive`` has shape ``(num_sessions, batch)``; its flat
   entry ``k`` is the exact nearest neighbour, among the valid time steps of
   session ``k // batch``, of query ``index[k]``.

The reference and positive rows are therefore *not* aligned. Stack the
reference features as ``(num_sessions, batch, ...)`` and re-order them with
``mix(features, index)``: afterwards flat row ``k`` of the mixed references
belongs to flat row ``k`` of the positives. ``index_reversed``, the inverse
permutation, re-orders the positives onto the references instead
(``mix(positive_features, index_reversed)``).

Example:
    >>> import torch
    >>> from cebra_data.distributions.multisession import mix, invert_index
    >>> features = torch.tensor([[10, 11], [20, 21]])   # (sessions=2, batch=2)
    >>> index = torch.tensor([3, 0, 2, 1])
    >>> mix(features, index)
    tensor([[21, 10],
            [20, 11]])
    >>> mix(mix(features, index), invert_index(index))
    tensor([[10, 11],
            [20, 21]])

Validity: each session's valid set is its ``sample_mask()`` (the time steps
whose whole window fits inside the recording, and inside its trial, with no
missing label). References, negatives and positives are drawn or searched
only there, so no window is ever clamped at a session edge.

Only labels are read from a dataset -- ``continuous_index``,
``discrete_index``, ``trial_ids``, ``sample_mask()`` of each session --
never the signal. Sessions with the interface of ``cebra.data`` (e.g. CEBRA's
own datasets) work too: their missing pieces are computed by
:func:`~cebra_data.distributions.base.sample_mask_of` (every index whose
window fits) and :func:`~cebra_data.distributions.base.trial_ids_of`.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import check_choice, check_int, check_positive_int
from cebra_data.datatypes import BatchIndex
from cebra_data.device import DeviceLike
from cebra_data.distributions.base import (
    ConditionalDistribution,
    HasGenerator,
    PriorDistribution,
    SeedLike,
    contiguous_start,
    index_of,
    sample_mask_of,
    trial_ids_of,
)
from cebra_data.distributions.continuous import finite_rows, time_pairs
from cebra_data.distributions.discrete import Discrete, as_discrete
from cebra_data.distributions.index import (
    ConditionalIndex,
    ContinuousIndex,
    as_continuous,
)
from cebra_data.distributions.registry import MULTISESSION_CONDITIONALS
from cebra_data.errors import DimensionMismatchError, MissingIndexError

__all__ = [
    "mix",
    "invert_index",
    "MultisessionSampler",
    "DiscreteMultisessionSampler",
    "MixedMultisessionSampler",
    "UnifiedSampler",
]

ArrayLike = Union[torch.Tensor, np.ndarray]

# Uniform draws within a set of size n take a 62-bit integer modulo n: the
# deviation from exact uniformity is below n / 2**62.
_WIDE = 2**62


# -- re-ordering helpers ---------------------------------------------------------


def _as_flat_index(idx: Any, expected: int) -> Union[torch.Tensor, np.ndarray]:
    if isinstance(idx, torch.Tensor):
        flat = idx.reshape(-1)
        bad_dtype = flat.is_floating_point() or flat.is_complex() or flat.dtype == torch.bool
    else:
        flat = np.asarray(idx).reshape(-1)
        bad_dtype = flat.dtype.kind not in "iu"
    if bad_dtype:
        raise TypeError(f"idx should hold integer positions, but got dtype {flat.dtype}.")
    if flat.shape[0] != expected:
        raise ValueError(
            f"idx should have num_sessions * batch = {expected} entries, one per stacked "
            f"sample, but got {flat.shape[0]}."
        )
    return flat


def mix(array: ArrayLike, idx: ArrayLike) -> ArrayLike:
    """Re-order the stacked samples of all sessions by a flat index mapping.

    ``array`` has shape ``(num_sessions, batch, ...)``; ``idx`` has
    ``num_sessions * batch`` entries (any shape). The result has the shape of
    ``array`` and satisfies::

        out.reshape(S * B, ...)[k] == array.reshape(S * B, ...)[idx[k]]

    With the ``index`` of a multi-session batch, ``mix(reference_features,
    index)`` lines every reference up with its positive; with
    ``index_reversed``, ``mix(positive_features, index_reversed)`` lines every
    positive up with its reference.

    Args:
        array: a tensor or numpy array of shape ``(num_sessions, batch, ...)``.
        idx: integer positions into the flattened first two axes.

    Returns:
        The re-ordered array, of the same type and shape as ``array``.

    Raises:
        TypeError: for non-integer ``idx``.
        ValueError: if ``array`` has fewer than two axes or ``idx`` has another
            number of entries than ``num_sessions * batch``.

    Example:
        >>> import numpy as np
        >>> from cebra_data.distributions.multisession import mix
        >>> mix(np.array([[1, 2, 3], [4, 5, 6]]), np.array([5, 4, 3, 2, 1, 0]))
        array([[6, 5, 4],
               [3, 2, 1]])
    """
    if array.ndim < 2:
        raise ValueError(
            "array should have shape (num_sessions, batch, ...), but got shape "
            f"{tuple(array.shape)}."
        )
    n, m = array.shape[:2]
    flat_idx = _as_flat_index(idx, n * m)
    flat = array.reshape(n * m, *array.shape[2:])
    if isinstance(array, torch.Tensor):
        flat_idx = torch.as_tensor(flat_idx, device=array.device).long()
    else:
        flat_idx = np.asarray(flat_idx.cpu() if isinstance(flat_idx, torch.Tensor) else flat_idx)
    return flat[flat_idx].reshape(array.shape)


def _inverse_permutation(index: torch.Tensor) -> torch.Tensor:
    """The inverse of a permutation drawn by ``randperm`` (not re-checked, see :func:`invert_index`)."""
    inverse = torch.empty_like(index)
    return inverse.index_copy_(0, index, torch.arange(len(index), device=index.device))


def invert_index(idx: ArrayLike) -> ArrayLike:
    """The inverse permutation: ``idx[invert_index(idx)] == arange(len(idx))``.

    Args:
        idx: a 1-D permutation of ``0 .. n - 1`` (tensor or numpy array).

    Returns:
        Its inverse, of the same type.

    Raises:
        ValueError: if ``idx`` is not a permutation.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.multisession import invert_index
        >>> idx = torch.tensor([2, 3, 1, 0])
        >>> idx[invert_index(idx)]
        tensor([0, 1, 2, 3])
    """
    is_tensor = isinstance(idx, torch.Tensor)
    tensor = idx if is_tensor else torch.as_tensor(np.asarray(idx))
    tensor = tensor.reshape(-1)
    if tensor.is_floating_point() or tensor.dtype == torch.bool:
        raise TypeError(f"idx should hold integer positions, but got dtype {tensor.dtype}.")
    tensor = tensor.long()
    n = tensor.numel()
    if n and (int(tensor.min()) < 0 or int(tensor.max()) >= n or torch.unique(tensor).numel() != n):
        raise ValueError(f"idx should be a permutation of 0 .. {n - 1}, but it is not.")
    out = _inverse_permutation(tensor)
    return out if is_tensor else out.cpu().numpy()


# -- labels of every session -----------------------------------------------------


def _sessions_of(dataset: Any, owner: str) -> List[Any]:
    num_sessions = getattr(dataset, "num_sessions", None)
    if num_sessions is None or not callable(getattr(dataset, "get_session", None)):
        raise TypeError(
            f"{owner} expects a multi-session dataset (e.g. cebra_data.DatasetCollection), "
            f"but got {type(dataset).__name__}."
        )
    if num_sessions < 1:
        raise ValueError(f"{owner} needs at least one session, but the dataset has none.")
    sessions = [dataset.get_session(i) for i in range(num_sessions)]
    foreign = [
        i for i, s in enumerate(sessions)
        if not callable(getattr(s, "sample_mask", None))
        and (not hasattr(type(s), "__len__") or not hasattr(getattr(s, "offset", None), "left"))
    ]
    if foreign:
        raise TypeError(
            f"{owner} expects sessions with sample_mask(), or with __len__ and an offset with "
            f"left and right (the interface of cebra.data datasets), but session {foreign[0]} "
            f"of {type(dataset).__name__} is a {type(sessions[foreign[0]]).__name__}."
        )
    return sessions


def _continuous_of(sessions: Sequence[Any], owner: str, device: str) -> List[torch.Tensor]:
    values = [index_of(s, "continuous") for s in sessions]
    missing = [i for i, v in enumerate(values) if v is None]
    if missing:
        raise MissingIndexError(
            f"{owner} needs a continuous index in every session, but session(s) {missing} "
            f"have none (of {len(sessions)} sessions). Pass continuous=... for every session."
        )
    values = [as_continuous(v, f"continuous index of session {i}") for i, v in enumerate(values)]
    dims = [int(v.shape[1]) for v in values]
    if len(set(dims)) > 1:
        listing = ", ".join(f"session {i}: {d}" for i, d in enumerate(dims))
        raise DimensionMismatchError(
            "The sessions' continuous indices must have one dimension to share a behaviour "
            f"space, but got {listing}."
        )
    return [v.to(device) for v in values]


def _discrete_of(sessions: Sequence[Any], owner: str, device: str) -> List[torch.Tensor]:
    values = [index_of(s, "discrete") for s in sessions]
    missing = [i for i, v in enumerate(values) if v is None]
    if missing:
        raise MissingIndexError(
            f"{owner} needs a discrete index in every session, but session(s) {missing} "
            f"have none (of {len(sessions)} sessions). Pass discrete=... for every session."
        )
    return [as_discrete(v, f"discrete index of session {i}").to(device) for i, v in enumerate(values)]


def _check_shared_labels(labels: Sequence[torch.Tensor], valid: Sequence[torch.Tensor], owner: str) -> None:
    """Every label drawn in one session must be findable in every other session."""
    present = [torch.unique(l[v]).cpu() for l, v in zip(labels, valid)]
    union = torch.unique(torch.cat(present))
    for session_id, values in enumerate(present):
        missing = union[~torch.isin(union, values)]
        if len(missing):
            raise ValueError(
                f"{owner} searches each positive in a randomly assigned session, so every "
                f"discrete label must occur at a valid time step of every session, but label(s) "
                f"{missing[:10].tolist()} occur in other sessions and not in session "
                f"{session_id} (which has {values[:10].tolist()}"
                + (" ..." if len(values) > 10 else "")
                + ")."
            )


class _SessionSampler(HasGenerator, PriorDistribution):
    """Shared state of the multi-session samplers: per-session valid sets and the prior.

    Attributes:
        session_lengths: ``(num_sessions,)`` number of time steps per session.
        lengths: ``(num_sessions,)`` first flat position of every session when
            the sessions are concatenated (named as in CEBRA).
        valid: per session, the boolean ``sample_mask()`` references,
            negatives and positives are drawn or searched in.
    """

    def __init__(self, dataset: Any, device: Optional[DeviceLike], seed: SeedLike) -> None:
        sessions = _sessions_of(dataset, type(self).__name__)
        if device is None:
            device = getattr(dataset, "device", None) or "cpu"
        HasGenerator.__init__(self, device=device, seed=seed)
        self.session_lengths = torch.tensor([len(s) for s in sessions], dtype=torch.long)
        self.lengths = torch.cumsum(self.session_lengths, 0) - self.session_lengths
        self.valid = [sample_mask_of(s).to(self.device) for s in sessions]
        trials = [trial_ids_of(s) for s in sessions]
        self.trial_ids = [None if t is None else t.to(self.device).long() for t in trials]
        self._setup(sessions)

    def _setup(self, sessions: Sequence[Any]) -> None:
        """Read the labels each sampler needs from the sessions (called once by ``__init__``)."""

    @property
    def num_sessions(self) -> int:
        """The number of sessions."""
        return len(self.session_lengths)

    def mix(self, array: ArrayLike, idx: ArrayLike) -> ArrayLike:
        """See :func:`mix` (kept as a method, as in CEBRA)."""
        return mix(array, idx)

    def _set_support(self, support: Sequence[torch.Tensor], what: str) -> None:
        """Store the per-session sets references are drawn from (ascending local indices)."""
        empty = [i for i, s in enumerate(support) if len(s) == 0]
        if empty:
            listing = ", ".join(
                f"session {i}: {int(self.session_lengths[i])} samples" for i in empty
            )
            raise ValueError(
                f"No time step can be drawn in session(s) {empty} ({listing}): {what}. "
                "Use a smaller offset or time_offset, or drop sessions that are too short."
            )
        counts = torch.tensor([len(s) for s in support], dtype=torch.long, device=self.device)
        self._support = torch.cat([s.to(self.device) for s in support])
        self._support_count = counts
        self._support_start = torch.cumsum(counts, 0) - counts
        # Sessions whose support has no gaps (the usual case) are drawn as first + offset,
        # skipping the gather: support[start + k] == first + k there.
        first = [contiguous_start(s) for s in support]
        self._support_first = (
            None if None in first else torch.tensor(first, dtype=torch.long, device=self.device)
        )

    def _draw(self, num_samples: int, sessions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Uniform draws from the support: ``(num_sessions, num_samples)``, or one per entry of ``sessions``."""
        if sessions is None:
            wide = self.randint(0, _WIDE, (self.num_sessions, num_samples))
            wide.remainder_(self._support_count[:, None])
            if self._support_first is not None:
                return wide.add_(self._support_first[:, None])
            pick = wide.add_(self._support_start[:, None])
        else:
            wide = self.randint(0, _WIDE, (len(sessions),))
            pick = wide % self._support_count[sessions] + self._support_start[sessions]
        # index_select instead of support[pick]: the same values, several times faster
        return self._support.index_select(0, pick.reshape(-1)).reshape(pick.shape)

    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """Draw ``num_samples`` reference time steps in every session.

        Each session's time steps are drawn uniformly from its valid set, so
        every session contributes the same number of samples.

        Args:
            num_samples: the batch size per session.

        Returns:
            ``(num_sessions, num_samples)`` long tensor; row ``s`` holds time
            indices of session ``s``.
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        return self._draw(num_samples)

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> Any:
        """:meth:`sample_conditional` for references this sampler's prior drew (not re-checked)."""
        self._references_trusted = True
        try:
            return self.sample_conditional(reference_idx)
        finally:
            self._references_trusted = False

    def _check_reference(self, reference_idx: Any) -> torch.Tensor:
        if self.__dict__.get("_references_trusted"):
            return reference_idx  # drawn by sample_prior: right shape, dtype, device and range
        ref = torch.as_tensor(reference_idx) if not isinstance(reference_idx, torch.Tensor) else reference_idx
        if ref.is_floating_point() or ref.is_complex() or ref.dtype == torch.bool:
            raise TypeError(f"reference_idx should hold integer indices, but got dtype {ref.dtype}.")
        if ref.dim() != 2 or ref.shape[0] != self.num_sessions:
            raise ValueError(
                f"reference_idx should have shape (num_sessions, batch) = ({self.num_sessions}, "
                f"batch), one row per session, but got shape {tuple(ref.shape)}."
            )
        ref = ref.long().to(self.device)
        if ref.numel():
            high = self.session_lengths.to(self.device)[:, None]
            bad = (ref < 0) | (ref >= high)
            if bool(bad.any()):
                session_id = int(bad.any(dim=1).nonzero()[0, 0])
                raise IndexError(
                    f"reference_idx row {session_id} should hold time steps of session "
                    f"{session_id}, in [0, {int(self.session_lengths[session_id])}), but got "
                    f"{int(ref[session_id][bad[session_id]][0])}."
                )
        return ref

    def _flat(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Positions of ``(num_sessions, batch)`` local indices in the concatenated sessions."""
        return (reference_idx + self.lengths.to(self.device)[:, None]).reshape(-1)

    def get_indices(self, num_samples: int) -> BatchIndex:
        """Draw one batch: references, positives, negatives and the alignment permutation.

        Args:
            num_samples: the batch size per session.

        Returns:
            A :class:`~cebra_data.BatchIndex` whose reference, positive and
            negative have shape ``(num_sessions, num_samples)``.
        """
        reference = self.sample_prior(num_samples)
        negative = self.sample_prior(num_samples)
        positive, index, index_reversed = self.sample_conditional(reference)
        return BatchIndex(reference, positive, negative, index, index_reversed)


class _PooledTimeDifferences:
    """Mixin: the empirical ``time_offset``-step changes of the behaviour, pooled over sessions."""

    continuous: List[torch.Tensor]

    def _setup_time_differences(self, time_offset: int) -> None:
        pieces = []
        for session_id, values in enumerate(self.continuous):
            start = time_pairs(finite_rows(values), time_offset, self.trial_ids[session_id])
            pieces.append(values[start + time_offset] - values[start])
        #: ``(M, d)`` the pooled differences ``index[t + time_offset] - index[t]`` (CEBRA's name)
        self.time_difference = torch.cat(pieces)
        if len(self.time_difference) == 0:
            raise ValueError(
                f"No session has a pair of time steps (t, t + {time_offset}) inside one trial "
                "with finite behaviour, so no time difference can be estimated. Use a smaller "
                f"time_offset (session lengths: {self.session_lengths.tolist()})."
            )

    def sample_differences(self, num_samples: int) -> torch.Tensor:
        """Draw ``num_samples`` pooled differences, uniformly."""
        pick = self.randint(0, len(self.time_difference), (num_samples,))
        return self.time_difference[pick]


class MultisessionSampler(_PooledTimeDifferences, _SessionSampler, ConditionalDistribution):
    """Continuous multi-session sampling: positives are searched across sessions.

    See the module docstring for the scheme. With ``conditional="time"`` no
    behaviour is used: each positive is its reference ``+ time_offset`` in the
    reference's own session and ``index`` is the identity.

    Args:
        dataset: a multi-session dataset (e.g. :class:`cebra_data.DatasetCollection`).
            Only its labels and ``sample_mask()`` are read.
        time_offset: the time lag of the empirical behaviour changes
            (``"time_delta"``), or between reference and positive (``"time"``).
        conditional: a name of :data:`MULTISESSION_CONDITIONALS`.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        device: device of the returned indices; by default the dataset's.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown ``conditional``.
        cebra_data.errors.MissingIndexError: if a session lacks a continuous index.
        cebra_data.errors.DimensionMismatchError: if the sessions' index dimensions differ.
        ValueError: if a session has no time step to draw.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection
        >>> from cebra_data.distributions.multisession import MultisessionSampler
        >>> g = torch.Generator().manual_seed(0)
        >>> data = DatasetCollection([TensorDataset(torch.randn(n, c, generator=g),
        ...                                         continuous=torch.rand(n, 2, generator=g))
        ...                           for n, c in [(300, 20), (400, 35)]])
        >>> sampler = MultisessionSampler(data, time_offset=5, seed=1)
        >>> reference = sampler.sample_prior(8)
        >>> positive, index, index_reversed = sampler.sample_conditional(reference)
        >>> reference.shape, positive.shape, index.shape
        (torch.Size([2, 8]), torch.Size([2, 8]), torch.Size([16]))
        >>> bool((index[index_reversed] == torch.arange(16)).all())
        True
    """

    def __init__(
        self,
        dataset: Any,
        time_offset: int = 10,
        *,
        conditional: str = "time_delta",
        seed: SeedLike = None,
        device: Optional[DeviceLike] = None,
        engine: str = "auto",
    ) -> None:
        self.conditional = check_choice(conditional, "multi-session conditional", MULTISESSION_CONDITIONALS)
        self.spec = MULTISESSION_CONDITIONALS[self.conditional]
        self.time_offset = check_int(time_offset, "time_offset", minimum=0)
        self._engine = engine
        _SessionSampler.__init__(self, dataset, device, seed)

    def _setup(self, sessions: Sequence[Any]) -> None:
        owner = type(self).__name__
        if type(self) is MultisessionSampler:
            owner += f"(conditional={self.conditional!r})"
        if self.spec.needs_continuous:
            self.continuous = _continuous_of(sessions, owner, self.device)
            self.all_data = torch.cat(self.continuous)
            self._setup_time_differences(self.time_offset)
            searchable = [v & finite_rows(c) for c, v in zip(self.continuous, self.valid)]
            self._set_support(
                [s.nonzero().flatten() for s in searchable],
                "no time step has a full window and a finite behaviour",
            )
            self.index = self._build_index(sessions, searchable, self._engine)
        else:
            self.continuous = None
            self.all_data = None
            self.index = None
            self._set_support(
                [time_pairs(v, self.time_offset, t) for v, t in zip(self.valid, self.trial_ids)],
                f"no time step t has both t and t + {self.time_offset} inside the session (and "
                "its trial) with a full window",
            )

    def _build_index(
        self, sessions: Sequence[Any], searchable: Sequence[torch.Tensor], engine: str
    ) -> List[Any]:
        """One exact search structure per session over its searchable time steps."""
        return [ContinuousIndex(c, valid=s, engine=engine) for c, s in zip(self.continuous, searchable)]

    def assign_queries(self, reference_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Build one query per reference and assign the queries to sessions.

        The query of a reference is its behaviour plus a random pooled time
        difference; a random permutation ``index`` then deals the
        ``num_sessions * batch`` queries out to the sessions (steps 2 and 3
        of the module docstring).

        Args:
            reference_idx: ``(num_sessions, batch)`` reference time steps.

        Returns:
            ``(query, index, index_reversed)``: ``query`` has shape
            ``(num_sessions, batch, d)`` and ``query[s, b]`` is the query of
            flat reference ``index[s * batch + b]``, to be searched in session
            ``s``; ``index`` and ``index_reversed`` are inverse permutations
            of length ``num_sessions * batch``.

        Raises:
            ValueError: for the ``"time"`` conditional, which has no queries.
        """
        if not self.spec.cross_session:
            raise ValueError(
                f"conditional={self.conditional!r} takes positives in the reference's own "
                "session and builds no queries; use sample_conditional."
            )
        reference_idx = self._check_reference(reference_idx)
        num_sessions, batch = reference_idx.shape
        flat = self._flat(reference_idx)
        query = self.all_data.index_select(0, flat) + self.sample_differences(len(flat))
        index = self.randperm(len(flat))
        index_reversed = _inverse_permutation(index)
        return query[index].reshape(num_sessions, batch, -1), index, index_reversed

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Exact nearest valid time step of session ``s`` for every query ``query[s]``.

        Args:
            query: ``(num_sessions, batch, d)`` queries, row ``s`` searched in session ``s``.

        Returns:
            ``(num_sessions, batch)`` long tensor of time indices (ties go to the
            smallest time index).
        """
        if self.index is None:
            raise ValueError(f"conditional={self.conditional!r} does not search a continuous index.")
        if query.dim() != 3 or query.shape[0] != self.num_sessions:
            raise ValueError(
                f"query should have shape (num_sessions, batch, d) = ({self.num_sessions}, batch, "
                f"{self.all_data.shape[1]}), but got shape {tuple(query.shape)}."
            )
        positive = torch.empty(query.shape[:2], dtype=torch.long, device=self.device)
        for session_id, session_index in enumerate(self.index):
            positive[session_id] = session_index.search(query[session_id]).to(self.device)
        return positive

    def sample_conditional(self, reference_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw one positive per reference (in a randomly assigned session).

        Args:
            reference_idx: ``(num_sessions, batch)`` reference time steps.

        Returns:
            ``(positive, index, index_reversed)``: ``positive`` of shape
            ``(num_sessions, batch)``, grouped by the session it was found in
            and *not* aligned with ``reference_idx``; ``index`` (length
            ``num_sessions * batch``) aligns the references with the positives
            through :func:`mix`, ``index_reversed`` is its inverse. For
            ``conditional="time"`` the positives are aligned and both
            permutations are the identity.

        Raises:
            IndexError: for a reference outside its session (or, for ``"time"``,
                too close to the end for ``+ time_offset``).
        """
        if self.spec.cross_session:
            query, index, index_reversed = self.assign_queries(reference_idx)
            return self.search(query), index, index_reversed
        reference_idx = self._check_reference(reference_idx)
        last = (self.session_lengths.to(self.device) - self.time_offset)[:, None]
        if bool((reference_idx >= last).any()):
            session_id = int((reference_idx >= last).any(dim=1).nonzero()[0, 0])
            raise IndexError(
                f"reference_idx row {session_id} holds a time step whose positive "
                f"(+ time_offset={self.time_offset}) lies past the end of session {session_id} "
                f"({int(self.session_lengths[session_id])} samples)."
            )
        identity = torch.arange(reference_idx.numel(), device=self.device)
        return reference_idx + self.time_offset, identity, identity.clone()


class DiscreteMultisessionSampler(_SessionSampler, ConditionalDistribution):
    """Discrete multi-session sampling: positives share the reference's label.

    References are drawn uniformly from each session's valid time steps. A
    random permutation ``index`` assigns every reference's label to a session
    (as in :class:`MultisessionSampler`); the positive is drawn uniformly among
    that session's valid time steps carrying the label.

    Args:
        dataset: a multi-session dataset whose sessions have a discrete index.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        device: device of the returned indices; by default the dataset's.

    Raises:
        cebra_data.errors.MissingIndexError: if a session has no discrete index.
        ValueError: if a label occurs (at a valid time step) in one session but
            not in another: the positive could not be found.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection
        >>> from cebra_data.distributions.multisession import DiscreteMultisessionSampler
        >>> sessions = [TensorDataset(torch.zeros(n, c), discrete=torch.arange(n) % 3)
        ...             for n, c in [(60, 4), (90, 7)]]
        >>> sampler = DiscreteMultisessionSampler(DatasetCollection(sessions), seed=0)
        >>> batch = sampler.get_indices(5)
        >>> labels = torch.stack([torch.arange(60)[batch.reference[0]] % 3,
        ...                       torch.arange(90)[batch.reference[1]] % 3])
        >>> bool((sampler.mix(labels, batch.index).flatten() == (batch.positive % 3).flatten()).all())
        True
    """

    def __init__(
        self,
        dataset: Any,
        *,
        seed: SeedLike = None,
        device: Optional[DeviceLike] = None,
    ) -> None:
        _SessionSampler.__init__(self, dataset, device, seed)

    def _setup(self, sessions: Sequence[Any]) -> None:
        owner = type(self).__name__
        self.discrete = _discrete_of(sessions, owner, self.device)
        self.all_data = torch.cat(self.discrete)
        self._set_support([v.nonzero().flatten() for v in self.valid], "no time step has a full window")
        _check_shared_labels(self.discrete, self.valid, owner)
        self.index = [
            Discrete(labels, device=self.device, seed=self.child_seed(), valid=valid)
            for labels, valid in zip(self.discrete, self.valid)
        ]
        # class code of every time step (meaningful at valid steps; the sessions share codes)
        self._all_codes = torch.cat(
            [torch.searchsorted(d.values, labels) for d, labels in zip(self.index, self.discrete)]
        )

    def sample_conditional(self, reference_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw one same-label positive per reference, in a randomly assigned session.

        Args:
            reference_idx: ``(num_sessions, batch)`` reference time steps.

        Returns:
            ``(positive, index, index_reversed)`` as in
            :meth:`MultisessionSampler.sample_conditional`.
        """
        trusted = bool(self.__dict__.get("_references_trusted"))
        reference_idx = self._check_reference(reference_idx)
        num_sessions, batch = reference_idx.shape
        flat = self._flat(reference_idx)
        index = self.randperm(len(flat))
        if trusted:
            # References are valid time steps: their labels' class codes (shared by all
            # sessions, see _check_shared_labels) are looked up instead of searched.
            codes = self._all_codes.index_select(0, flat).index_select(0, index)
            positive = torch.stack([
                session_labels._in_class(session_codes)
                for session_labels, session_codes in zip(self.index, codes.reshape(num_sessions, batch))
            ])
            return positive, index, _inverse_permutation(index)
        assigned = self.all_data[flat][index].reshape(num_sessions, batch)
        positive = torch.empty_like(reference_idx)
        for session_id, session_labels in enumerate(self.index):
            positive[session_id] = session_labels.sample_conditional_labels(assigned[session_id])
        return positive, index, invert_index(index)


class MixedMultisessionSampler(MultisessionSampler):
    """Mixed multi-session sampling: same discrete label AND nearest in behaviour.

    As :class:`MultisessionSampler` with ``conditional="time_delta"``, except
    that the positive for a query is the nearest valid time step, in the
    assigned session, **among those sharing the reference's discrete label**.

    Args:
        dataset: a multi-session dataset whose sessions have a continuous and a
            discrete index.
        time_offset: the time lag of the empirical behaviour changes.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        device: device of the returned indices; by default the dataset's.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        cebra_data.errors.MissingIndexError: if a session lacks either index.
        ValueError: if a label occurs in one session but not in another.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, DatasetCollection
        >>> from cebra_data.distributions.multisession import MixedMultisessionSampler
        >>> sessions = [TensorDataset(torch.zeros(n, 3), continuous=torch.linspace(0, 1, n)[:, None],
        ...                           discrete=torch.arange(n) % 2) for n in (80, 120)]
        >>> sampler = MixedMultisessionSampler(DatasetCollection(sessions), time_offset=2, seed=0)
        >>> sampler.get_indices(4).positive.shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        dataset: Any,
        time_offset: int = 10,
        *,
        seed: SeedLike = None,
        device: Optional[DeviceLike] = None,
        engine: str = "auto",
    ) -> None:
        super().__init__(
            dataset, time_offset, conditional="time_delta", seed=seed, device=device, engine=engine
        )

    def _build_index(
        self, sessions: Sequence[Any], searchable: Sequence[torch.Tensor], engine: str
    ) -> List[Any]:
        """One exact search structure per session and label (a :class:`ConditionalIndex`)."""
        owner = type(self).__name__
        self.discrete = _discrete_of(sessions, owner, self.device)
        self.all_labels = torch.cat(self.discrete)
        _check_shared_labels(self.discrete, searchable, owner)
        return [
            ConditionalIndex(labels, values, valid=mask, engine=engine)
            for labels, values, mask in zip(self.discrete, self.continuous, searchable)
        ]

    def assigned_labels(self, reference_idx: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The label each assigned query must match: ``(num_sessions, batch)``.

        Entry ``[s, b]`` is the label of flat reference ``index[s * batch + b]``.
        """
        reference_idx = self._check_reference(reference_idx)
        labels = self.all_labels[self._flat(reference_idx)]
        return labels[index.to(self.device)].reshape(reference_idx.shape)

    def search(self, query: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Nearest valid same-label time step of session ``s`` for every ``query[s]``.

        Args:
            query: ``(num_sessions, batch, d)`` queries.
            labels: ``(num_sessions, batch)`` labels to match (see
                :meth:`assigned_labels`); required.

        Returns:
            ``(num_sessions, batch)`` long tensor of time indices.
        """
        if labels is None:
            raise ValueError(
                "MixedMultisessionSampler.search needs the labels to match, one per query: "
                "pass labels=sampler.assigned_labels(reference_idx, index)."
            )
        if query.dim() != 3 or query.shape[0] != self.num_sessions or tuple(labels.shape) != tuple(query.shape[:2]):
            raise ValueError(
                f"query should have shape (num_sessions, batch, d) and labels (num_sessions, "
                f"batch), with num_sessions={self.num_sessions}, but got {tuple(query.shape)} "
                f"and {tuple(labels.shape)}."
            )
        positive = torch.empty(query.shape[:2], dtype=torch.long, device=self.device)
        for session_id, session_index in enumerate(self.index):
            positive[session_id] = session_index.search(
                query[session_id], discrete=labels[session_id]
            ).to(self.device)
        return positive

    def sample_conditional(self, reference_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw one same-label, behaviour-nearest positive per reference.

        Returns:
            ``(positive, index, index_reversed)`` as in
            :meth:`MultisessionSampler.sample_conditional`.
        """
        query, index, index_reversed = self.assign_queries(reference_idx)
        labels = self.assigned_labels(reference_idx, index)
        return self.search(query, labels), index, index_reversed


class UnifiedSampler(MultisessionSampler):
    """Multi-session sampling that treats all sessions as one pseudo-session.

    For a :class:`cebra_data.UnifiedDataset`, whose batches concatenate the
    sessions along the neuron axis so that one model sees all of them:

    * **prior** -- a reference session is drawn uniformly; references are drawn
      uniformly from its valid time steps; in every other session, the
      reference at the same batch position is the valid time step whose
      behaviour is nearest (exact search, no time difference added);
    * **conditional** -- within each session, the positive is the nearest valid
      time step to the reference's behaviour plus a random pooled
      ``time_offset``-step change, as in single-session ``time_delta``.

    References and positives stay aligned: no permutation is involved.

    As in CEBRA, :meth:`sample_all_uniform_prior`, :meth:`sample_prior` and
    :meth:`sample_conditional` return numpy ``int64`` arrays (on the CPU) and
    :meth:`sample_all_sessions` a tensor; :meth:`get_indices` returns tensors on
    the sampler's device.

    Args:
        dataset: a multi-session dataset (usually a :class:`~cebra_data.UnifiedDataset`).
        time_offset: the time lag of the empirical behaviour changes.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        device: device of the returned indices; by default the dataset's.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        cebra_data.errors.MissingIndexError: if a session lacks a continuous index.
        cebra_data.errors.DimensionMismatchError: if the index dimensions differ.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset, UnifiedDataset
        >>> from cebra_data.distributions.multisession import UnifiedSampler
        >>> sessions = [TensorDataset(torch.zeros(n, c), continuous=torch.linspace(0, 1, n)[:, None])
        ...             for n, c in [(101, 5), (201, 8)]]
        >>> sampler = UnifiedSampler(UnifiedDataset(sessions), time_offset=1, seed=0)
        >>> reference = sampler.sample_prior(4, session_id=0)
        >>> bool((reference[1] == 2 * reference[0]).all())   # same behaviour, twice the sampling rate
        True
        >>> type(reference).__name__, sampler.sample_conditional(reference).shape
        ('ndarray', (2, 4))
    """

    def __init__(
        self,
        dataset: Any,
        time_offset: int = 10,
        *,
        seed: SeedLike = None,
        device: Optional[DeviceLike] = None,
        engine: str = "auto",
    ) -> None:
        self.time_offset = check_int(time_offset, "time_offset", minimum=0)
        self._engine = engine
        _SessionSampler.__init__(self, dataset, device, seed)

    def _setup(self, sessions: Sequence[Any]) -> None:
        self.continuous = _continuous_of(sessions, type(self).__name__, self.device)
        self.all_data = torch.cat(self.continuous)
        self._setup_time_differences(self.time_offset)
        searchable = [v & finite_rows(c) for v, c in zip(self.valid, self.continuous)]
        self._set_support(
            [s.nonzero().flatten() for s in searchable],
            "no time step has a full window and a finite behaviour",
        )
        self.index = [
            ContinuousIndex(c, valid=s, engine=self._engine) for c, s in zip(self.continuous, searchable)
        ]

    def sample_all_uniform_prior(self, num_samples: int) -> np.ndarray:
        """Independent uniform draws in every session.

        Args:
            num_samples: the number of draws per session.

        Returns:
            ``(num_sessions, num_samples)`` numpy ``int64`` array (as in CEBRA);
            row ``s`` is uniform over the valid time steps of session ``s``.
        """
        return super().sample_prior(num_samples).cpu().numpy()

    def sample_prior(self, num_samples: int, session_id: Optional[int] = None) -> np.ndarray:
        """Draw references aligned across sessions through their behaviour.

        Args:
            num_samples: the batch size.
            session_id: the reference session; drawn uniformly if ``None``.

        Returns:
            ``(num_sessions, num_samples)`` numpy ``int64`` array (as in CEBRA):
            row ``session_id`` is uniform over its valid time steps, every other
            row holds the valid time steps of that session nearest in behaviour.
        """
        return self._aligned_prior(num_samples, session_id).cpu().numpy()

    def _aligned_prior(self, num_samples: int, session_id: Optional[int]) -> torch.Tensor:
        """:meth:`sample_prior` as a tensor on the sampler's device."""
        num_samples = check_positive_int(num_samples, "num_samples")
        if session_id is None:
            session_id = int(self.randint(0, self.num_sessions, (1,)))
        session_id = self._check_session(session_id)
        ref = self._draw(num_samples, torch.full((num_samples,), session_id, device=self.device))
        return self.sample_all_sessions(ref, session_id)

    def _check_session(self, session_id: Any) -> int:
        session_id = check_int(session_id, "session_id", minimum=0)
        if session_id >= self.num_sessions:
            raise IndexError(
                f"session_id should be in 0 .. {self.num_sessions - 1}, but got {session_id}."
            )
        return session_id

    def sample_all_sessions(self, ref_idx: torch.Tensor, session_id: int) -> torch.Tensor:
        """Match references of one session to the other sessions by behaviour.

        Args:
            ref_idx: ``(batch,)`` time steps of session ``session_id``.
            session_id: the reference session.

        Returns:
            ``(num_sessions, batch)``: row ``session_id`` is ``ref_idx``, row
            ``i`` the valid time steps of session ``i`` nearest in behaviour.
        """
        session_id = self._check_session(session_id)
        ref_idx = torch.as_tensor(ref_idx).long().to(self.device).reshape(-1)
        length = int(self.session_lengths[session_id])
        if ref_idx.numel() and (int(ref_idx.min()) < 0 or int(ref_idx.max()) >= length):
            raise IndexError(
                f"ref_idx should hold time steps of session {session_id}, in [0, {length}), but "
                f"got values from {int(ref_idx.min())} to {int(ref_idx.max())}."
            )
        query = self.continuous[session_id][ref_idx]
        out = torch.empty((self.num_sessions, len(ref_idx)), dtype=torch.long, device=self.device)
        for i, session_index in enumerate(self.index):
            out[i] = ref_idx if i == session_id else session_index.search(query).to(self.device)
        return out

    def sample_conditional(self, reference_idx: ArrayLike) -> np.ndarray:
        """Draw each positive in its reference's own session.

        Args:
            reference_idx: ``(num_sessions, batch)`` references, a numpy array
                or a tensor.

        Returns:
            ``(num_sessions, batch)`` numpy ``int64`` array of positives (as in
            CEBRA), aligned with the references.
        """
        return self._positives(reference_idx).cpu().numpy()

    def _positives(self, reference_idx: ArrayLike) -> torch.Tensor:
        """:meth:`sample_conditional` as a tensor on the sampler's device."""
        reference_idx = self._check_reference(reference_idx)
        flat = self._flat(reference_idx)
        query = (self.all_data[flat] + self.sample_differences(len(flat))).reshape(
            *reference_idx.shape, -1
        )
        positive = torch.empty_like(reference_idx)
        for session_id, session_index in enumerate(self.index):
            positive[session_id] = session_index.search(query[session_id]).to(self.device)
        return positive

    def get_indices(self, num_samples: int, num_negatives: Optional[int] = None) -> BatchIndex:
        """Draw one batch; ``index`` and ``index_reversed`` are ``None`` (nothing to re-order).

        Args:
            num_samples: the number of references (and positives) per session.
            num_negatives: the number of negatives per session; by default
                ``num_samples``.

        Returns:
            A :class:`~cebra_data.BatchIndex` of ``(num_sessions, n)`` long
            tensors on the sampler's device.
        """
        reference = self._aligned_prior(num_samples, None)
        negative = self._aligned_prior(num_samples if num_negatives is None else num_negatives, None)
        positive = self._positives(reference)
        return BatchIndex(reference, positive, negative)
