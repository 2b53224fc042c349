"""Distributions over a discrete and a continuous index together."""

from __future__ import annotations

from typing import Optional, Union

import torch

from cebra_data._validation import check_int
from cebra_data.distributions.base import (
    HasGenerator,
    JointDistribution,
    SeedLike,
    as_reference_index,
    as_trial_ids,
    as_valid_mask,
)
from cebra_data.distributions.continuous import finite_rows, time_pairs
from cebra_data.distributions.discrete import as_discrete, make_prior
from cebra_data.distributions.index import ConditionalIndex, as_continuous

__all__ = ["MixedTimeDeltaDistribution"]

class MixedTimeDeltaDistribution(HasGenerator, JointDistribution):
    """Positives that share the reference's discrete label and are time-delta close.

    The query for a reference ``r`` is ``continuous[r] + (continuous[t +
    time_delta] - continuous[t])`` for a uniformly drawn pair ``(t, t +
    time_delta)`` inside one trial with finite rows (as in
    :class:`~cebra_data.distributions.TimedeltaDistribution`); the positive
    is the nearest valid time step **among those labelled
    ``discrete[r]``** (exact search, ties to the smallest time index).

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
        prior: a name of :data:`cebra_data.distributions.discrete.PRIORS`:
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
        device: Union[str, torch.device] = "cpu",
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
        self.pair_start = time_pairs(self.finite, self.time_delta, self.trial_ids)
        if len(self.pair_start) == 0:
            raise ValueError(
                f"No pair of time steps (t, t + {self.time_delta}) lies inside one trial with "
                "finite values, so no time difference can be estimated. Use a smaller "
                "time_delta or check the trial lengths and NaN rows."
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
        start = self.choice(self.pair_start, len(reference_idx))
        return self.data[reference_idx] + (self.data[start + self.time_delta] - self.data[start])

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return, per reference, the nearest same-label valid time step to its query."""
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        return self.index.search(self.query(reference_idx), discrete=self.discrete[reference_idx])
