"""The one table of conditional names and the one table of prior names.

:data:`CONDITIONALS` lives here; :data:`PRIORS` lives beside the discrete
distributions (:mod:`cebra_data.distributions.discrete`) and is re-exported.

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
from cebra_data.distributions.discrete import PRIORS, make_prior
from cebra_data.distributions.mixed import MixedTimeDeltaDistribution

__all__ = [
    "ConditionalOptions",
    "ConditionalSpec",
    "CONDITIONALS",
    "PRIORS",
    "make_conditional",
    "make_mixed_conditional",
    "make_prior",
]


@dataclasses.dataclass(frozen=True)
class ConditionalOptions:
    """Everything a row of :data:`CONDITIONALS` may use to build its distribution.

    Attributes:
        continuous: the ``(N, d)`` continuous index, or ``None``.
        num_samples: the number of time steps ``N``.
        time_offset: the time step of time contrast and of the empirical changes.
        delta: the standard deviation of ``delta_normal`` queries.
        device: the device of the returned indices.
        seed: the distribution's seed.
        valid: the boolean ``(N,)`` mask of drawable time steps, or ``None``.
        trial_ids: the ``(N,)`` trial ids, or ``None``.
        discrete: the ``(N,)`` labels (label-sharing variants only).
        prior: the prior over labels (label-sharing variants only).
    """

    continuous: Optional[torch.Tensor]
    num_samples: Optional[int]
    time_offset: int
    delta: float
    device: Union[str, torch.device]
    seed: SeedLike
    valid: Optional[torch.Tensor]
    trial_ids: Optional[torch.Tensor]
    discrete: Optional[torch.Tensor] = None
    prior: str = "uniform"


@dataclasses.dataclass(frozen=True)
class ConditionalSpec:
    """One row of :data:`CONDITIONALS`.

    Attributes:
        build: ``build(options)`` returning a :class:`JointDistribution` for a
            :class:`ConditionalOptions`.
        needs_continuous: whether the conditional searches a continuous index.
        description: one line for error messages and docs.
        build_mixed: ``build_mixed(options)`` for the variant whose positives
            also share the reference's discrete label, or ``None`` if the
            conditional has no such variant.
    """

    build: Callable[[ConditionalOptions], JointDistribution]
    needs_continuous: bool
    description: str
    build_mixed: Optional[Callable[[ConditionalOptions], JointDistribution]] = None


def _time(o: ConditionalOptions) -> JointDistribution:
    # time contrast is label-free: the continuous index is not consulted
    return TimeContrastive(
        num_samples=o.num_samples, time_offset=o.time_offset, device=o.device, seed=o.seed,
        valid=o.valid, trial_ids=o.trial_ids,
    )


def _time_delta(o: ConditionalOptions) -> JointDistribution:
    return TimedeltaDistribution(
        o.continuous, time_delta=o.time_offset, device=o.device, seed=o.seed, valid=o.valid,
        trial_ids=o.trial_ids,
    )


def _delta_normal(o: ConditionalOptions) -> JointDistribution:
    return DeltaNormalDistribution(
        o.continuous, delta=o.delta, device=o.device, seed=o.seed, valid=o.valid,
        trial_ids=o.trial_ids,
    )


def _mixed_time_delta(o: ConditionalOptions) -> JointDistribution:
    return MixedTimeDeltaDistribution(
        o.discrete, o.continuous, time_delta=o.time_offset, device=o.device, seed=o.seed,
        valid=o.valid, trial_ids=o.trial_ids, prior=o.prior,
    )


#: Conditional name -> how to build it.
CONDITIONALS: Dict[str, ConditionalSpec] = {
    "time": ConditionalSpec(_time, False, "positive = reference + time_offset"),
    "time_delta": ConditionalSpec(
        _time_delta,
        True,
        "nearest neighbour of reference + an empirical time_offset-step change",
        build_mixed=_mixed_time_delta,
    ),
    "delta_normal": ConditionalSpec(
        _delta_normal, True, "nearest neighbour of reference + N(0, delta^2 I)"
    ),
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
    return spec.build(
        ConditionalOptions(continuous, num_samples, time_offset, delta, device, seed, valid, trial_ids)
    )


def make_mixed_conditional(
    name: str,
    *,
    discrete: torch.Tensor,
    continuous: torch.Tensor,
    time_offset: int = 10,
    delta: float = 0.1,
    device: Union[str, torch.device] = "cpu",
    seed: SeedLike = None,
    valid: Optional[torch.Tensor] = None,
    trial_ids: Optional[torch.Tensor] = None,
    prior: str = "uniform",
) -> JointDistribution:
    """Build the label-sharing variant of the conditional ``name``.

    Raises:
        cebra_data.errors.UnknownChoiceError: if ``name`` has no such variant
            (the message lists the names that have one).
    """
    mixed = [key for key, spec in CONDITIONALS.items() if spec.build_mixed is not None]
    spec = CONDITIONALS[check_choice(name, "conditional for mixed sampling", mixed)]
    return spec.build_mixed(
        ConditionalOptions(
            continuous, len(continuous), time_offset, delta, device, seed, valid, trial_ids,
            discrete=discrete, prior=prior,
        )
    )
