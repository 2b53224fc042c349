"""The one table of conditional names and the one table of prior names.

Loaders look their ``conditional`` and ``prior`` arguments up here; an
unknown name raises :class:`cebra_data.errors.UnknownChoiceError`, which lists
the valid ones. Adding a distribution means adding one row.

Example:
    >>> import torch
    >>> from cebra_data.distributions.registry import make_conditional, CONDITIONALS
    >>> sorted(CONDITIONALS)
    ['delta_normal', 'time', 'time_delta']
    >>> dist = make_conditional("time", num_samples=50, time_offset=10, seed=0)
    >>> type(dist).__name__
    'TimeContrastive'
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Dict, Optional, Union

import torch

from cebra_data._validation import check_choice
from cebra_data.distributions.base import JointDistribution, SeedLike
from cebra_data.distributions.continuous import (
    DeltaNormalDistribution,
    TimeContrastive,
    TimedeltaDistribution,
)
from cebra_data.distributions.discrete import Discrete, DiscreteEmpirical, DiscreteUniform

__all__ = ["ConditionalSpec", "CONDITIONALS", "PRIORS", "make_conditional", "make_prior"]


@dataclasses.dataclass(frozen=True)
class ConditionalSpec:
    """One row of :data:`CONDITIONALS`.

    Attributes:
        build: ``build(continuous, num_samples, time_offset, delta, device, seed,
            valid, trial_ids)`` returning a :class:`JointDistribution`.
        needs_continuous: whether the conditional searches a continuous index.
        description: one line for error messages and docs.
    """

    build: Callable[..., JointDistribution]
    needs_continuous: bool
    description: str


def _time(continuous, num_samples, time_offset, delta, device, seed, valid, trial_ids):
    # time contrast is label-free: the continuous index is not consulted
    return TimeContrastive(
        num_samples=num_samples, time_offset=time_offset, device=device, seed=seed,
        valid=valid, trial_ids=trial_ids,
    )


def _time_delta(continuous, num_samples, time_offset, delta, device, seed, valid, trial_ids):
    return TimedeltaDistribution(
        continuous, time_delta=time_offset, device=device, seed=seed, valid=valid,
        trial_ids=trial_ids,
    )


def _delta_normal(continuous, num_samples, time_offset, delta, device, seed, valid, trial_ids):
    return DeltaNormalDistribution(
        continuous, delta=delta, device=device, seed=seed, valid=valid, trial_ids=trial_ids
    )


#: Conditional name -> how to build it.
CONDITIONALS: Dict[str, ConditionalSpec] = {
    "time": ConditionalSpec(_time, False, "positive = reference + time_offset"),
    "time_delta": ConditionalSpec(
        _time_delta, True, "nearest neighbour of reference + an empirical time_offset-step change"
    ),
    "delta_normal": ConditionalSpec(
        _delta_normal, True, "nearest neighbour of reference + N(0, delta^2 I)"
    ),
}

#: Prior name -> discrete distribution class.
PRIORS: Dict[str, type] = {
    "empirical": DiscreteEmpirical,
    "uniform": DiscreteUniform,
}


def make_conditional(
    name: str,
    *,
    continuous: Optional[torch.Tensor] = None,
    num_samples: Optional[int] = None,
    time_offset: int = 10,
    delta: float = 0.1,
    device: Union[str, torch.device] = "cpu",
    seed: SeedLike = None,
    valid: Optional[torch.Tensor] = None,
    trial_ids: Optional[torch.Tensor] = None,
) -> JointDistribution:
    """Build the joint distribution registered as ``name`` in :data:`CONDITIONALS`.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown name.
        ValueError: if the conditional needs ``continuous`` and got ``None``.
    """
    spec = CONDITIONALS[check_choice(name, "conditional", CONDITIONALS)]
    if spec.needs_continuous and continuous is None:
        raise ValueError(f"conditional={name!r} needs a continuous index, but got None.")
    if num_samples is None and continuous is not None:
        num_samples = len(continuous)
    return spec.build(continuous, num_samples, time_offset, delta, device, seed, valid, trial_ids)


def make_prior(
    name: str,
    discrete: torch.Tensor,
    *,
    device: Union[str, torch.device] = "cpu",
    seed: SeedLike = None,
    valid: Optional[torch.Tensor] = None,
) -> Discrete:
    """Build the discrete distribution registered as ``name`` in :data:`PRIORS`.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown name.
    """
    cls = PRIORS[check_choice(name, "prior", PRIORS)]
    return cls(discrete, device=device, seed=seed, valid=valid)
