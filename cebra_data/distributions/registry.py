"""The one registry of sampling choices: conditional, prior and multi-session names.

Four tables map a name to what it builds:

* :data:`CONDITIONALS` -- single-session conditionals (``"time"``,
  ``"time_delta"``, ``"delta_normal"``), each a :class:`ConditionalSpec`;
* :data:`MIXED_CONDITIONALS` -- the conditionals with a variant whose
  positives also share the reference's discrete label;
* :data:`PRIORS` -- priors over discrete labels (``"empirical"``,
  ``"uniform"``);
* :data:`MULTISESSION_CONDITIONALS` -- what the multi-session samplers do
  with a conditional name.

A row is registered beside the distribution it builds
(``register_conditional(...)`` at the end of
:mod:`~cebra_data.distributions.continuous`, ``register_prior(...)`` in
:mod:`~cebra_data.distributions.discrete`, ...), the way file readers are
registered in :mod:`cebra_data.io.registry`. This module imports nothing but
the interfaces, so every distribution module can import it; importing
:mod:`cebra_data.distributions` fills the tables. Loaders look their
``conditional`` and ``prior`` arguments up here; an unknown name raises
:class:`cebra_data.errors.UnknownChoiceError`, which lists the valid ones.

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
from typing import Callable, Dict, Optional

import torch

from cebra_data._validation import check_choice
from cebra_data.device import DeviceLike
from cebra_data.distributions.base import JointDistribution, PriorDistribution
from cebra_data.seeding import SeedLike

__all__ = [
    "ConditionalOptions",
    "ConditionalSpec",
    "MultisessionConditional",
    "CONDITIONALS",
    "MIXED_CONDITIONALS",
    "PRIORS",
    "MULTISESSION_CONDITIONALS",
    "register_conditional",
    "register_prior",
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
    device: DeviceLike
    seed: SeedLike
    valid: Optional[torch.Tensor]
    trial_ids: Optional[torch.Tensor]
    discrete: Optional[torch.Tensor] = None
    prior: str = "uniform"


@dataclasses.dataclass(frozen=True)
class ConditionalSpec:
    """One row of :data:`CONDITIONALS` (or :data:`MIXED_CONDITIONALS`).

    Attributes:
        build: ``build(options)`` returning a :class:`JointDistribution` for a
            :class:`ConditionalOptions`.
        needs_continuous: whether the conditional searches a continuous index.
        description: one line for error messages and docs.
    """

    build: Callable[[ConditionalOptions], JointDistribution]
    needs_continuous: bool
    description: str


@dataclasses.dataclass(frozen=True)
class MultisessionConditional:
    """One row of :data:`MULTISESSION_CONDITIONALS`.

    Attributes:
        cross_session: whether positives are searched in randomly assigned
            sessions (nearest neighbour in the continuous index) or taken in
            the reference's own session.
        needs_continuous: whether every session needs a continuous index.
        description: one line for error messages and docs.
    """

    cross_session: bool
    needs_continuous: bool
    description: str


#: Conditional name -> how to build it (rows registered by :func:`register_conditional`).
CONDITIONALS: Dict[str, ConditionalSpec] = {}

#: Conditional name -> how to build its label-sharing variant (``MixedDataLoader``).
MIXED_CONDITIONALS: Dict[str, ConditionalSpec] = {}

#: Prior name -> discrete distribution class (rows registered by :func:`register_prior`).
PRIORS: Dict[str, type] = {}

#: Conditional name -> how the multi-session samplers draw positives.
MULTISESSION_CONDITIONALS: Dict[str, MultisessionConditional] = {
    "time_delta": MultisessionConditional(
        True,
        True,
        "nearest neighbour, in a randomly assigned session, of the reference's behaviour "
        "plus an empirical time_offset-step change",
    ),
    "time": MultisessionConditional(
        False, False, "reference + time_offset in the reference's own session"
    ),
}


def _register(table: Dict[str, object], kind: str, name: str, row: object) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a {kind} name should be a non-empty string, but got {name!r}.")
    if name in table:
        raise ValueError(f"the {kind} {name!r} is already registered.")
    table[name] = row


def register_conditional(
    name: str,
    build: Callable[[ConditionalOptions], JointDistribution],
    *,
    needs_continuous: bool,
    description: str,
    mixed: bool = False,
) -> None:
    """Add a row to :data:`CONDITIONALS` (or, with ``mixed=True``, to :data:`MIXED_CONDITIONALS`).

    Raises:
        ValueError: if ``name`` is already registered in that table.
    """
    table = MIXED_CONDITIONALS if mixed else CONDITIONALS
    _register(table, "conditional", name, ConditionalSpec(build, needs_continuous, description))


def register_prior(name: str, cls: type) -> None:
    """Add a row to :data:`PRIORS`: ``cls(discrete, device=, seed=, valid=)`` builds the prior.

    Raises:
        TypeError: if ``cls`` is not a :class:`PriorDistribution` class.
        ValueError: if ``name`` is already registered.
    """
    if not (isinstance(cls, type) and issubclass(cls, PriorDistribution)):
        raise TypeError(f"a prior should be a PriorDistribution class, but got {cls!r}.")
    _register(PRIORS, "prior", name, cls)


def make_conditional(
    name: str,
    *,
    continuous: Optional[torch.Tensor] = None,
    num_samples: Optional[int] = None,
    time_offset: int = 10,
    delta: float = 0.1,
    device: DeviceLike = "cpu",
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
    device: DeviceLike = "cpu",
    seed: SeedLike = None,
    valid: Optional[torch.Tensor] = None,
    trial_ids: Optional[torch.Tensor] = None,
    prior: str = "uniform",
) -> JointDistribution:
    """Build the label-sharing variant of the conditional ``name`` (:data:`MIXED_CONDITIONALS`).

    Raises:
        cebra_data.errors.UnknownChoiceError: if ``name`` has no such variant
            (the message lists the names that have one).
    """
    spec = MIXED_CONDITIONALS[check_choice(name, "conditional for mixed sampling", MIXED_CONDITIONALS)]
    return spec.build(
        ConditionalOptions(
            continuous, len(continuous), time_offset, delta, device, seed, valid, trial_ids,
            discrete=discrete, prior=prior,
        )
    )


def make_prior(
    name: str,
    discrete: torch.Tensor,
    *,
    device: DeviceLike = "cpu",
    seed: SeedLike = None,
    valid: Optional[torch.Tensor] = None,
) -> PriorDistribution:
    """Build the discrete distribution registered as ``name`` in :data:`PRIORS`.

    Raises:
        cebra_data.errors.UnknownChoiceError: for an unknown name (the message
            lists the valid ones).

    Example:
        >>> import torch
        >>> from cebra_data.distributions.registry import make_prior
        >>> type(make_prior("uniform", torch.tensor([0, 1, 1]), seed=0)).__name__
        'DiscreteUniform'
    """
    cls = PRIORS[check_choice(name, "prior", PRIORS)]
    return cls(discrete, device=device, seed=seed, valid=valid)
