"""Distributions over time and a continuous index.

* :class:`Prior` -- uniform over the valid time steps.
* :class:`TimeContrastive` -- the positive is ``reference + time_offset``.
* :class:`TimedeltaDistribution` -- the positive is the nearest neighbour of
  ``index[reference] + index[t + time_delta] - index[t]`` for a random ``t``.
* :class:`DeltaNormalDistribution` -- the positive is the nearest neighbour of
  ``index[reference] + N(0, delta**2 I)``.
* :class:`DirectTimedeltaDistribution` -- the positive is the nearest neighbour of
  ``index[reference + time_offset]``.
* :class:`CEBRADistribution` -- CEBRA's abstract placeholder, kept for compatibility.

:class:`~cebra_data.Offset` is re-exported here, as ``cebra.distributions.continuous`` does.

Validity rules (``valid`` and ``trial_ids`` are optional ``(N,)`` tensors):

* rows of the continuous index that contain ``NaN``/``inf`` count as invalid;
* references, negatives and positives are always valid time steps;
* time-contrastive references are the ``t`` with ``t`` and ``t + time_offset``
  both valid and in the same trial;
* the empirical time differences use the pairs ``(t, t + time_delta)`` inside
  one trial whose two rows are finite (whether or not they are ``valid``: the
  differences describe how behaviour moves, not which windows fit).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import torch

from cebra_data._validation import check_float, check_int, check_positive_int
from cebra_data.datatypes import Offset
from cebra_data.device import DeviceLike
from cebra_data.distributions.base import (
    HasGenerator,
    JointDistribution,
    PriorDistribution,
    SeedLike,
    as_reference_index,
    as_trial_ids,
    as_valid_mask,
    contiguous_start,
    overrides,
)
from cebra_data.distributions.index import ContinuousIndex, as_continuous
from cebra_data.distributions.registry import ConditionalOptions, register_conditional

__all__ = [
    "Offset",
    "Prior",
    "TimeContrastive",
    "DirectTimedeltaDistribution",
    "TimedeltaDistribution",
    "DeltaNormalDistribution",
    "CEBRADistribution",
    "finite_rows",
    "time_pairs",
    "require_time_pairs",
]


def finite_rows(continuous: torch.Tensor) -> torch.Tensor:
    """Boolean ``(N,)`` mask of the rows whose values are all finite."""
    return torch.isfinite(continuous).all(dim=1)


def time_pairs(
    usable: torch.Tensor, time_delta: int, trial_ids: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Start ``t`` of every pair ``(t, t + time_delta)`` with both ends ``usable`` and in one trial.

    Args:
        usable: boolean ``(N,)`` mask.
        time_delta: the distance in time, ``>= 0``.
        trial_ids: optional ``(N,)`` trial of every time step.

    Returns:
        Ascending long tensor of the pair starts.
    """
    n = len(usable)
    if time_delta >= n:
        return torch.empty(0, dtype=torch.long, device=usable.device)
    ok = usable[: n - time_delta] & usable[time_delta:]
    if trial_ids is not None:
        ok = ok & (trial_ids[: n - time_delta] == trial_ids[time_delta:])
    return ok.nonzero().flatten()


def require_time_pairs(pair_start: torch.Tensor, time_delta: int) -> torch.Tensor:
    """``pair_start`` if it holds a pair, else a ``ValueError`` that names both spellings of the lag.

    The lag is ``time_delta`` for the distributions and ``time_offset`` for
    the loaders that build them, so the message names both.
    """
    if len(pair_start) == 0:
        raise ValueError(
            f"No pair of time steps (t, t + {time_delta}) lies inside one trial with finite "
            "values, so no time difference can be estimated. Use a smaller lag (time_offset of "
            "the loader, time_delta of the distribution) or check the trial lengths and NaN rows."
        )
    return pair_start


def _require_support(support: torch.Tensor, what: str) -> torch.Tensor:
    if len(support) == 0:
        raise ValueError(
            f"No time step can be drawn: {what}. Check the valid mask (e.g. a smaller "
            "offset), the trial lengths and the NaN rows of the index."
        )
    return support


class _UniformSupport(HasGenerator, PriorDistribution):
    """A prior that draws uniformly from a fixed, ascending set of time steps (:attr:`support`)."""

    num_samples: int

    @property
    def support(self) -> torch.Tensor:
        """The time steps the prior draws from, ascending."""
        return self._support

    @support.setter
    def support(self, support: torch.Tensor) -> None:
        self._support = support
        # A support without gaps (the usual case: every step but the edges) is drawn
        # as start + randint, skipping the gather; support[pick] is the same value.
        self._support_start = contiguous_start(support)
        self._support_end = None if self._support_start is None else self._support_start + len(support)

    def sample_prior(self, num_samples: int, offset: Any = None) -> torch.Tensor:
        """Return ``num_samples`` time steps drawn uniformly from :attr:`support`.

        Args:
            num_samples: number of indices to draw.
            offset: optional :class:`~cebra_data.Offset`; if given, only time
                steps ``t`` with a full window, ``offset.left <= t <= N -
                offset.right``, are drawn. Prefer passing ``valid`` at
                construction (loaders do): it also handles trials.

        Returns:
            ``(num_samples,)`` long tensor.
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        if offset is not None:
            return self.choice(self._support_within(offset), num_samples)
        support, start = self._support, self._support_start
        if start is None:
            pick = torch.randint(0, len(support), (num_samples,), generator=self._generator)
            return support.index_select(0, pick.to(support.device))
        # torch draws randint(low, high) as low + randint(0, high - low): support[pick] exactly
        drawn = torch.randint(start, self._support_end, (num_samples,), generator=self._generator)
        return drawn.to(support.device)

    def _support_within(self, offset: Any) -> torch.Tensor:
        cache: Dict[Tuple[int, int], torch.Tensor] = self.__dict__.setdefault("_offset_cache", {})
        key = (int(offset.left), int(offset.right))
        if key not in cache:
            low, high = key[0], self.num_samples - key[1]
            inside = self.support[(self.support >= low) & (self.support <= high)]
            cache[key] = _require_support(inside, f"no valid time step has a full window {offset!r}")
        return cache[key]


class Prior(_UniformSupport):
    """Uniform prior over the valid time steps of a continuous index.

    Args:
        continuous: ``(N, d)`` continuous index; rows with ``NaN``/``inf`` are never drawn.
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of drawable time steps.
        trial_ids: accepted for a uniform signature (a prior does not pair time steps).

    Raises:
        ValueError: if no time step can be drawn.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import Prior
        >>> valid = torch.tensor([False, True, True, False])
        >>> idx = Prior(torch.zeros(4, 1), seed=0, valid=valid).sample_prior(100)
        >>> sorted(set(idx.tolist()))
        [1, 2]
    """

    def __init__(
        self,
        continuous: torch.Tensor,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        self.continuous = as_continuous(continuous).to(self.device)
        self.num_samples = len(self.continuous)
        self.valid = as_valid_mask(valid, self.num_samples, self.device)
        usable = self.valid & finite_rows(self.continuous)
        self.support = _require_support(usable.nonzero().flatten(), "every row is invalid or NaN")


class TimeContrastive(_UniformSupport, JointDistribution):
    """Time-contrastive learning: the positive is exactly ``reference + time_offset``.

    References are drawn uniformly among the time steps ``t`` for which ``t``
    and ``t + time_offset`` are both valid (and finite, if ``continuous`` is
    given) and lie in the same trial, so every positive is valid.

    Args:
        continuous: optional ``(N, d)`` index; used for its length and to
            exclude ``NaN`` rows.
        time_offset: distance in time between reference and positive (``>= 0``).
        num_samples: number of time steps ``N``, if ``continuous`` is not given.
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask.
        trial_ids: optional ``(N,)`` trial of every time step.

    Raises:
        ValueError: if neither ``continuous`` nor ``num_samples`` is given,
            they disagree, or no reference can be drawn.

    Example:
        >>> from cebra_data.distributions import TimeContrastive
        >>> dist = TimeContrastive(num_samples=100, time_offset=10, seed=0)
        >>> reference, positive = dist.sample_joint(5)
        >>> bool(((positive - reference) == 10).all()), int(reference.max()) < 90
        (True, True)
    """

    def __init__(
        self,
        continuous: Optional[torch.Tensor] = None,
        time_offset: int = 1,
        num_samples: Optional[int] = None,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        if continuous is None and num_samples is None:
            raise ValueError(
                "TimeContrastive needs the number of time steps: pass a continuous index "
                "or num_samples."
            )
        if num_samples is not None:
            num_samples = check_positive_int(num_samples, "num_samples")
        if continuous is not None:
            continuous = as_continuous(continuous).to(self.device)
            if num_samples is not None and num_samples != len(continuous):
                raise ValueError(
                    f"num_samples={num_samples} does not match the {len(continuous)} rows of "
                    "continuous; pass only one of them."
                )
            num_samples = len(continuous)
        self.continuous = continuous
        self.num_samples = num_samples
        self.time_offset = check_int(time_offset, "time_offset", minimum=0)
        if self.num_samples <= self.time_offset:
            raise ValueError(
                f"The number of time steps should exceed time_offset, but got "
                f"{self.num_samples} <= time_offset={self.time_offset}."
            )
        self.valid = as_valid_mask(valid, self.num_samples, self.device)
        self.trial_ids = as_trial_ids(trial_ids, self.num_samples, self.device)
        usable = self.valid if continuous is None else self.valid & finite_rows(continuous)
        self.support = _require_support(
            time_pairs(usable, self.time_offset, self.trial_ids),
            f"no valid time step t has a valid t + {self.time_offset} in the same trial",
        )

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return ``reference_idx + time_offset``.

        Raises:
            IndexError: if a positive would fall outside the recording.
        """
        reference_idx = as_reference_index(
            reference_idx, self.num_samples - self.time_offset, self.device
        )
        return reference_idx + self.time_offset

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        if overrides(type(self), TimeContrastive, ("sample_conditional",)):
            return self.sample_conditional(reference_idx)  # a subclass with its own conditional
        return reference_idx + self.time_offset

    def _sample_batch(
        self, num_samples: int, num_negatives: int
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        start = self._support_start
        if start is None or overrides(type(self), TimeContrastive, ("sample_conditional",)):
            return super()._sample_batch(num_samples, num_negatives)
        # Two draws instead of one split in two: torch draws these integers one after
        # another, so the values are the same; randint(low, high) is low + randint(0, n).
        high, generator = self._support_end, self._generator
        reference = torch.randint(start, high, (num_samples,), generator=generator)
        negative = torch.randint(start, high, (num_negatives,), generator=generator)
        if not self._support.is_cpu:
            reference, negative = reference.to(self._support.device), negative.to(self._support.device)
        return reference, reference + self.time_offset, negative


class DirectTimedeltaDistribution(TimeContrastive):
    """Positives looked up in the continuous index at ``reference + time_offset``.

    The query for a reference ``r`` is the index value ``continuous[r +
    time_offset]``; the positive is the valid time step nearest to it (exact
    search, ties to the smallest time index). That is ``r + time_offset``
    itself unless an earlier valid time step carries exactly the same value
    (e.g. a quantised label), in which case the earliest such step is
    returned. References are drawn as in :class:`TimeContrastive`: ``r`` and
    ``r + time_offset`` valid, finite and in the same trial.

    CEBRA 0.6.1 marks this class as work in progress and its version cannot
    be used: the constructor reads an attribute that ``TimeContrastive``
    never sets (``AttributeError``) and the lookup indexes the search index
    object instead of the data. This class implements what that code
    describes, seeded by ``seed`` instead of CEBRA's unseeded generator.

    Args:
        continuous: ``(N, d)`` (or ``(N,)``) continuous index; integer values
            are accepted unchanged.
        time_offset: distance in time between the reference and the looked-up
            time step (``>= 0``).
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of drawable time steps.
        trial_ids: optional ``(N,)`` trial of every time step.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        TypeError: if ``continuous`` is not a numeric tensor or array.
        ValueError: if ``time_offset`` is not smaller than the number of time
            steps, or no reference can be drawn.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import DirectTimedeltaDistribution
        >>> position = torch.tensor([0, 1, 2, 1, 4, 5])  # time step 3 repeats the value of 1
        >>> dist = DirectTimedeltaDistribution(position, time_offset=1, seed=0)
        >>> dist.sample_conditional(torch.tensor([0, 2, 3]))
        tensor([1, 1, 4])
    """

    def __init__(
        self,
        continuous: torch.Tensor,
        time_offset: int = 1,
        *,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
        engine: str = "auto",
    ) -> None:
        TimeContrastive.__init__(
            self,
            continuous=as_continuous(continuous),
            time_offset=time_offset,
            device=device,
            seed=seed,
            valid=valid,
            trial_ids=trial_ids,
        )
        #: the continuous index (``cebra``'s attribute name)
        self.data = self.continuous
        self.index = ContinuousIndex(
            self.continuous, valid=self.valid & finite_rows(self.continuous), engine=engine
        )

    def query(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """The search queries ``continuous[reference_idx + time_offset]``.

        Raises:
            IndexError: if ``reference_idx + time_offset`` falls outside the recording.
        """
        return self.continuous[TimeContrastive.sample_conditional(self, reference_idx)]

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return the valid time step nearest to ``continuous[reference_idx + time_offset]``.

        Args:
            reference_idx: ``(B,)`` time indices in ``[0, N - time_offset)``.

        Returns:
            ``(B,)`` long tensor of time indices.

        Raises:
            IndexError: if ``reference_idx + time_offset`` falls outside the recording.
            ValueError: if a looked-up value is ``NaN`` (a reference not drawn
                by :meth:`sample_prior`).
        """
        return self.index.search(self.query(reference_idx))

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        if overrides(type(self), DirectTimedeltaDistribution, ("sample_conditional", "query")):
            return self.sample_conditional(reference_idx)  # a subclass with its own conditional
        # references from the prior: r + time_offset is a valid, finite time step
        looked_up = self.continuous.index_select(0, reference_idx + self.time_offset)
        return self.index._search_trusted(looked_up)


class _NearestNeighbourConditional(_UniformSupport, JointDistribution):
    """Shared set-up of the conditionals that search the continuous index."""

    def _setup_index(
        self,
        continuous: Any,
        valid: Optional[torch.Tensor],
        trial_ids: Optional[torch.Tensor],
        engine: str,
    ) -> None:
        self.data = as_continuous(continuous).to(self.device)
        self.num_samples = len(self.data)
        self.valid = as_valid_mask(valid, self.num_samples, self.device)
        self.trial_ids = as_trial_ids(trial_ids, self.num_samples, self.device)
        self.finite = finite_rows(self.data)
        searchable = self.valid & self.finite
        self.support = _require_support(
            searchable.nonzero().flatten(), "every row is invalid or NaN"
        )
        self.index = ContinuousIndex(self.data, valid=searchable, engine=engine)

    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Nearest valid time step of each query row (see :class:`ContinuousIndex`)."""
        return self.index.search(query)


class TimedeltaDistribution(_NearestNeighbourConditional):
    """Positives from the empirical distribution of behaviour changes over ``time_delta``.

    The query for a reference ``r`` is ``index[r] + (index[t + time_delta] -
    index[t])`` with ``t`` drawn uniformly among the pairs ``(t, t +
    time_delta)`` inside one trial whose rows are finite; the positive is the
    valid time step nearest to the query (exact search, ties to the smallest
    time index). The prior is uniform over valid, finite time steps.

    Args:
        continuous: ``(N, d)`` continuous index.
        time_delta: the time lag of the empirical differences (``>= 0``).
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of drawable time steps.
        trial_ids: optional ``(N,)`` trial of every time step.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Note:
        The search uses Euclidean distance: give the index's columns
        comparable scales (e.g. standardise them) for meaningful positives.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import TimedeltaDistribution
        >>> position = torch.linspace(0, 1, 200)[:, None]
        >>> dist = TimedeltaDistribution(position, time_delta=5, seed=0)
        >>> reference, positive = dist.sample_joint(4)
        >>> bool(((positive - reference).abs() <= 6).all())
        True
    """

    def __init__(
        self,
        continuous: torch.Tensor,
        time_delta: int = 1,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
        engine: str = "auto",
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        self.time_delta = check_int(time_delta, "time_delta", minimum=0)
        self._setup_index(continuous, valid, trial_ids, engine)
        self.pair_start = require_time_pairs(
            time_pairs(self.finite, self.time_delta, self.trial_ids), self.time_delta
        )

    def sample_differences(self, num_samples: int) -> torch.Tensor:
        """Draw ``num_samples`` empirical differences ``index[t + time_delta] - index[t]``."""
        start = self.choice(self.pair_start, num_samples)
        # index_select: the same rows as data[start], faster on the CPU
        return self.data.index_select(0, start + self.time_delta) - self.data.index_select(0, start)

    def query(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """The search queries for ``reference_idx`` (one random difference each)."""
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        return self._query_trusted(reference_idx)

    def _query_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        return self.data.index_select(0, reference_idx) + self.sample_differences(len(reference_idx))

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return the valid time step nearest to each reference's query."""
        return self.search(self.query(reference_idx))

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        if overrides(type(self), TimedeltaDistribution, ("sample_conditional", "query", "search")):
            return self.sample_conditional(reference_idx)  # a subclass with its own conditional
        # references from the prior: checked once at construction, not at every batch
        return self.index._search_trusted(self._query_trusted(reference_idx))


class DeltaNormalDistribution(_NearestNeighbourConditional):
    """Positives near a Gaussian perturbation of the reference's index value.

    The query for a reference ``r`` is ``index[r] + delta * z`` with ``z``
    standard normal (isotropic covariance ``delta**2 I``); the positive is the
    valid time step nearest to it. The prior is uniform over valid, finite
    time steps.

    Args:
        continuous: ``(N, d)`` continuous index.
        delta: standard deviation of the perturbation (``> 0``).
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of drawable time steps.
        trial_ids: accepted for a uniform signature (unused).
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import DeltaNormalDistribution
        >>> dist = DeltaNormalDistribution(torch.linspace(0, 1, 101)[:, None], delta=0.01, seed=0)
        >>> reference, positive = dist.sample_joint(3)
        >>> bool(((positive - reference).abs() <= 6).all())
        True
    """

    def __init__(
        self,
        continuous: torch.Tensor,
        delta: float = 0.1,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
        engine: str = "auto",
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        self.std = check_float(delta, "delta", strictly_positive=True)
        self._setup_index(continuous, valid, trial_ids, engine)

    @property
    def delta(self) -> float:
        """Standard deviation of the Gaussian perturbation."""
        return self.std

    def query(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """The search queries ``index[reference_idx] + delta * z``."""
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        return self._query_trusted(reference_idx)

    def _query_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        mean = self.data.index_select(0, reference_idx)
        noise = self.randn(tuple(mean.shape), dtype=mean.dtype)
        return mean + self.std * noise

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return the valid time step nearest to each reference's perturbed value."""
        return self.search(self.query(reference_idx))

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        if overrides(type(self), DeltaNormalDistribution, ("sample_conditional", "query", "search")):
            return self.sample_conditional(reference_idx)  # a subclass with its own conditional
        # references from the prior: checked once at construction, not at every batch
        return self.index._search_trusted(self._query_trusted(reference_idx))


class CEBRADistribution(JointDistribution):
    """Abstract placeholder for a conditional defined by CEBRA embeddings (kept from CEBRA).

    ``cebra.distributions.continuous.CEBRADistribution`` is an abstract
    :class:`~cebra_data.distributions.JointDistribution` without an
    implementation ("contributions welcome"); this is the same: a base class
    for isinstance checks and subclasses, which must implement
    :meth:`sample_prior` and :meth:`sample_conditional`.

    Raises:
        TypeError: when instantiated directly (abstract methods).

    Example:
        >>> import inspect
        >>> from cebra_data.distributions import CEBRADistribution
        >>> inspect.isabstract(CEBRADistribution)
        True
    """


# -- registry rows (cebra_data.distributions.registry.CONDITIONALS) ---------------


def _build_time(o: ConditionalOptions) -> JointDistribution:
    # time contrast is label-free: the continuous index is not consulted
    return TimeContrastive(
        num_samples=o.num_samples, time_offset=o.time_offset, device=o.device, seed=o.seed,
        valid=o.valid, trial_ids=o.trial_ids,
    )


def _build_time_delta(o: ConditionalOptions) -> JointDistribution:
    return TimedeltaDistribution(
        o.continuous, time_delta=o.time_offset, device=o.device, seed=o.seed, valid=o.valid,
        trial_ids=o.trial_ids,
    )


def _build_delta_normal(o: ConditionalOptions) -> JointDistribution:
    return DeltaNormalDistribution(
        o.continuous, delta=o.delta, device=o.device, seed=o.seed, valid=o.valid,
        trial_ids=o.trial_ids,
    )


register_conditional(
    "time", _build_time, needs_continuous=False, description="positive = reference + time_offset"
)
register_conditional(
    "time_delta",
    _build_time_delta,
    needs_continuous=True,
    description="nearest neighbour of reference + an empirical time_offset-step change",
)
register_conditional(
    "delta_normal",
    _build_delta_normal,
    needs_continuous=True,
    description="nearest neighbour of reference + N(0, delta^2 I)",
)
