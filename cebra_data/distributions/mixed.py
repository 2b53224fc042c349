"""Distributions over a discrete and a continuous index together.

* :class:`MixedTimeDeltaDistribution` -- positives share the reference's label
  and follow its time-delta query.
* :class:`Mixed` -- a uniform label prior plus exact searches conditioned on
  label values, index values, or both.
* :class:`ConfigurableDistribution` -- CEBRA's unimplemented placeholder.

As in ``cebra.distributions.mixed``, :class:`~cebra_data.distributions.ConditionalIndex`,
:class:`~cebra_data.distributions.DiscreteUniform` and
:class:`~cebra_data.distributions.TimedeltaDistribution` are importable from here too.
"""

from __future__ import annotations

from typing import Literal, Optional

import torch

from cebra_data._validation import check_int
from cebra_data.device import DeviceLike, HasDevice
from cebra_data.distributions.base import (
    HasGenerator,
    JointDistribution,
    SeedLike,
    as_reference_index,
    as_trial_ids,
    as_valid_mask,
    overrides,
)
from cebra_data.distributions.continuous import (
    TimedeltaDistribution,
    finite_rows,
    require_time_pairs,
    time_pairs,
)
from cebra_data.distributions.discrete import DiscreteUniform, as_discrete
from cebra_data.distributions.index import ConditionalIndex, as_continuous
from cebra_data.distributions.registry import (
    ConditionalOptions,
    make_prior,
    register_conditional,
)

__all__ = [
    "MixedTimeDeltaDistribution",
    "Mixed",
    "ConfigurableDistribution",
    "ConditionalIndex",
    "DiscreteUniform",
    "TimedeltaDistribution",
]


class MixedTimeDeltaDistribution(TimedeltaDistribution):
    """Positives that share the reference's discrete label and are time-delta close.

    The query for a reference ``r`` is ``continuous[r] + (continuous[t +
    time_delta] - continuous[t])`` for a uniformly drawn pair ``(t, t +
    time_delta)`` inside one trial with finite rows (as in
    :class:`~cebra_data.distributions.TimedeltaDistribution`); the positive
    is the nearest valid time step **among those labelled
    ``discrete[r]``** (exact search, ties to the smallest time index).

    As in CEBRA it is a :class:`~cebra_data.distributions.TimedeltaDistribution`
    (``isinstance`` checks hold); the label restriction is its own.

    References are drawn from valid time steps with a finite continuous value,
    by the ``prior``: ``"uniform"`` makes every label value equally likely (the
    prior CEBRA uses here), ``"empirical"`` draws time steps uniformly.

    Args:
        discrete: ``(N,)`` integer labels.
        continuous: ``(N, d)`` continuous index.
        time_delta: the time lag of the empirical differences (``>= 0``).
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of drawable time steps.
        trial_ids: optional ``(N,)`` trial of every time step.
        prior: a name of :data:`cebra_data.distributions.registry.PRIORS`:
            ``"uniform"`` or ``"empirical"``.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        ValueError: for mismatched lengths or if nothing can be drawn.
        cebra_data.errors.UnknownChoiceError: for an unknown ``prior``.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import MixedTimeDeltaDistribution
        >>> labels = torch.arange(100) // 25
        >>> position = torch.linspace(0, 1, 100)[:, None]
        >>> dist = MixedTimeDeltaDistribution(labels, position, time_delta=3, seed=0)
        >>> reference, positive = dist.sample_joint(50)
        >>> bool((labels[positive] == labels[reference]).all())
        True
    """

    def __init__(
        self,
        discrete: torch.Tensor,
        continuous: torch.Tensor,
        time_delta: int = 1,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
        prior: str = "uniform",
        engine: str = "auto",
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        self.data = as_continuous(continuous).to(self.device)
        labels = as_discrete(discrete, "discrete").to(self.device)
        if len(labels) != len(self.data):
            raise ValueError(
                f"discrete ({len(labels)} samples) and continuous ({len(self.data)} samples) "
                "should have one row per time step each."
            )
        self.num_samples = len(self.data)
        self.time_delta = check_int(time_delta, "time_delta", minimum=0)
        self.valid = as_valid_mask(valid, self.num_samples, self.device)
        self.trial_ids = as_trial_ids(trial_ids, self.num_samples, self.device)
        self.finite = finite_rows(self.data)
        searchable = self.valid & self.finite
        self.discrete = labels
        # the label prior draws only searchable steps, so each reference's class
        # contains at least the reference itself and its query always has an answer
        self.prior = make_prior(
            prior, labels, device=self.device, seed=self.child_seed(), valid=searchable
        )
        self.index = ConditionalIndex(labels, self.data, valid=searchable, engine=engine)
        self.pair_start = require_time_pairs(
            time_pairs(self.finite, self.time_delta, self.trial_ids), self.time_delta
        )

    @property
    def support(self) -> torch.Tensor:
        """The time steps references are drawn from, ascending."""
        return self.prior.support

    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """Draw reference time steps with the configured ``prior``."""
        return self.prior.sample_prior(num_samples)

    def query(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """The search queries for ``reference_idx`` (one random time difference each)."""
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        return self._query_trusted(reference_idx)

    def _query_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        start = self.choice(self.pair_start, len(reference_idx))
        # index_select: the same rows as data[...], faster on the CPU
        difference = self.data.index_select(0, start + self.time_delta) - self.data.index_select(0, start)
        return self.data.index_select(0, reference_idx) + difference

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return, per reference, the nearest same-label valid time step to its query."""
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        return self.index.search(self.query(reference_idx), discrete=self.discrete[reference_idx])

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        if overrides(type(self), MixedTimeDeltaDistribution, ("sample_conditional", "query")):
            return self.sample_conditional(reference_idx)  # a subclass with its own conditional
        # references from the prior are searchable steps: their label has an engine
        return self.index._search_steps(self._query_trusted(reference_idx), reference_idx)


class Mixed(HasDevice):
    """A uniform label prior and exact searches over a discrete and a continuous index.

    The four methods of ``cebra.distributions.mixed.Mixed``, with the same
    arguments and return shapes:

    * :meth:`sample_prior` -- time steps with every label value equally likely;
    * :meth:`sample_conditional_discrete` -- a random time step per given label *value*;
    * :meth:`sample_conditional_continuous` -- the nearest time step per given index value;
    * :meth:`sample_conditional` -- the nearest time step among those with the given label.

    Differences from CEBRA 0.6.1, whose draws use numpy's global random state:
    every draw uses the generator made from ``seed``; labels may be any
    integers (CEBRA's uniform prior needs non-negative ones); the searches
    are exact with ties to the smallest time index; only valid time steps
    with a finite index value are ever returned.

    Args:
        discrete: ``(N,)`` integer labels.
        continuous: ``(N, d)`` (or ``(N,)``) continuous index; integer values
            are accepted unchanged.
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)`` mask of the time steps that may be returned.
        engine: nearest-neighbour engine, see :mod:`cebra_data.distributions.index`.

    Raises:
        ValueError: for mismatched lengths or if no time step is valid with a
            finite index value.
        TypeError: for non-integer labels or a non-numeric index.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import Mixed
        >>> labels = torch.tensor([0, 0, 1, 1])
        >>> position = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
        >>> mixed = Mixed(labels, position, seed=0)
        >>> mixed.sample_conditional(torch.tensor([1, 0]), torch.tensor([[0.9], [0.9]]))
        tensor([3, 1])
        >>> mixed.sample_conditional_continuous(torch.tensor([[0.2]]))
        tensor([0])
        >>> labels[mixed.sample_conditional_discrete(torch.tensor([1, 1, 0]))]
        tensor([1, 1, 0])
        >>> mixed.sample_prior(5).shape
        torch.Size([5])
    """

    def __init__(
        self,
        discrete: torch.Tensor,
        continuous: torch.Tensor,
        *,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        engine: str = "auto",
    ) -> None:
        HasDevice.__init__(self, device)
        values = as_continuous(continuous).to(self.device)
        labels = as_discrete(discrete, "discrete").to(self.device)
        #: exact search over the continuous index, optionally within a label
        self.conditional = ConditionalIndex(labels, values, valid=valid, engine=engine)
        #: the uniform label prior; also draws the label-conditional samples
        self.prior = DiscreteUniform(
            labels, device=self.device, seed=seed, valid=self.conditional.searchable
        )

    @property
    def num_samples(self) -> int:
        """Number of time steps."""
        return len(self.conditional.discrete)

    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """Draw time steps so that every label value is equally likely.

        Args:
            num_samples: number of indices to draw.

        Returns:
            ``(num_samples,)`` long tensor of time indices.
        """
        return self.prior.sample_prior(num_samples)

    def sample_conditional_discrete(self, discrete: torch.Tensor) -> torch.Tensor:
        """Draw, for each label value, a uniformly chosen time step carrying it.

        Args:
            discrete: ``(B,)`` label values (not time indices, as in CEBRA).

        Returns:
            ``(B,)`` long tensor of time indices.

        Raises:
            ValueError: if a value has no valid time step.
        """
        return self.prior.sample_conditional_labels(discrete)

    def sample_conditional_continuous(self, continuous: torch.Tensor) -> torch.Tensor:
        """Return the time step nearest to each query, whatever its label.

        Args:
            continuous: ``(B, d)`` floating point queries.

        Returns:
            ``(B,)`` long tensor of time indices.
        """
        return self.conditional.search(continuous, discrete=None)

    def sample_conditional(self, discrete: torch.Tensor, continuous: torch.Tensor) -> torch.Tensor:
        """Return, for each query, the nearest time step carrying the given label value.

        Args:
            discrete: ``(B,)`` label values.
            continuous: ``(B, d)`` floating point queries.

        Returns:
            ``(B,)`` long tensor of time indices.

        Raises:
            ValueError: if a label value has no valid time step, or the lengths differ.
        """
        return self.conditional.search(continuous, discrete=discrete)


class ConfigurableDistribution:
    """CEBRA's placeholder for a configurable mixed distribution (not implemented).

    ``cebra.distributions.mixed.ConfigurableDistribution`` is marked
    "Experimental. Do not use yet.": its ``configure_*`` methods accept a
    choice and silently do nothing. Here the class can be created (and
    subclassed) as in CEBRA, but the ``configure_*`` methods raise instead of
    ignoring the request. Choose priors and conditionals with the loaders'
    ``prior`` and ``conditional`` fields, or build them by name with
    :func:`cebra_data.distributions.registry.make_prior` and
    :func:`cebra_data.distributions.registry.make_conditional`.

    Example:
        >>> from cebra_data.distributions import ConfigurableDistribution
        >>> ConfigurableDistribution().configure_prior("uniform")
        Traceback (most recent call last):
        ...
        NotImplementedError: ConfigurableDistribution.configure_prior is not implemented ...
    """

    def configure_prior(self, distribution: Literal["empirical", "uniform"] = "empirical") -> None:
        """Not implemented (CEBRA's is a no-op).

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError(
            "ConfigurableDistribution.configure_prior is not implemented (in CEBRA 0.6.1 it "
            f"silently ignores the choice), so prior {distribution!r} was not applied. Use a "
            "loader's prior field or cebra_data.distributions.registry.make_prior instead."
        )

    def configure_conditional(self) -> None:
        """Not implemented (CEBRA's is a no-op).

        Raises:
            NotImplementedError: always.
        """
        raise NotImplementedError(
            "ConfigurableDistribution.configure_conditional is not implemented (in CEBRA 0.6.1 it "
            "does nothing). Use a loader's conditional field or "
            "cebra_data.distributions.registry.make_conditional instead."
        )


def _build_mixed_time_delta(o: ConditionalOptions) -> JointDistribution:
    return MixedTimeDeltaDistribution(
        o.discrete, o.continuous, time_delta=o.time_offset, device=o.device, seed=o.seed,
        valid=o.valid, trial_ids=o.trial_ids, prior=o.prior,
    )


register_conditional(
    "time_delta",
    _build_mixed_time_delta,
    needs_continuous=True,
    description="nearest neighbour with the reference's label of reference + an empirical "
    "time_offset-step change",
    mixed=True,
)
