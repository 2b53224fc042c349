"""Interfaces of distributions and indices, and the one seeding helper.

A *distribution* draws time indices from labels only: a
:class:`PriorDistribution` draws reference (and negative) indices, a
:class:`ConditionalDistribution` draws one positive index per reference, a
:class:`JointDistribution` does both. An :class:`Index` answers exact
nearest-neighbour queries over a label space.

Seeding
-------
Every draw uses a generator made by :func:`as_generator` (see
:mod:`cebra_data.seeding`, re-exported here as in CEBRA).

Validity
--------
Every distribution accepts ``valid`` (boolean ``(N,)``) and ``trial_ids``
(integer ``(N,)``). Returned indices are always ``valid``; see each class for
the exact rule. :func:`as_valid_mask` and :func:`as_trial_ids` check them.
"""

from __future__ import annotations

import abc
from typing import Any, Optional, Tuple

import numpy as np
import torch

from cebra_data._validation import check_positive_int
from cebra_data.device import DeviceLike, HasDevice
from cebra_data.seeding import (
    HasGenerator,
    SeedLike,
    as_generator,
    derive_seed,
    spawn_generator,
)

__all__ = [
    "SeedLike",
    "as_generator",
    "derive_seed",
    "spawn_generator",
    "HasGenerator",
    "Index",
    "PriorDistribution",
    "ConditionalDistribution",
    "JointDistribution",
    "as_valid_mask",
    "as_trial_ids",
    "as_reference_index",
]


class Index(abc.ABC, HasDevice):
    """An exact nearest-neighbour index over a label space.

    Subclasses implement :meth:`search`. As CEBRA's, an index holds tensors on
    one device (:class:`~cebra_data.HasDevice`).

    Args:
        device: the device of the index's tensors.
    """

    def __init__(self, device: Optional[DeviceLike] = None) -> None:
        HasDevice.__init__(self, device)

    @abc.abstractmethod
    def search(self, query: torch.Tensor) -> torch.Tensor:
        """Return, for each query row, the index of the closest entry."""


class PriorDistribution(abc.ABC):
    """Draws indices from a prior, e.g. references and negatives."""

    @abc.abstractmethod
    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """Return ``num_samples`` indices drawn from the prior, a 1-D long tensor."""


class ConditionalDistribution(abc.ABC):
    """Draws one index per reference index from a conditional distribution."""

    @abc.abstractmethod
    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Return one index per entry of ``reference_idx``, same shape."""


class JointDistribution(PriorDistribution, ConditionalDistribution):
    """A prior and a conditional: draws (reference, positive) pairs."""

    def sample_joint(self, num_samples: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(reference, positive)``, each ``num_samples`` indices."""
        num_samples = check_positive_int(num_samples, "num_samples")
        reference = self.sample_prior(num_samples)
        return reference, self.sample_conditional(reference)


# -- shared argument checks ---------------------------------------------------


def as_valid_mask(valid: Any, length: int, device: Optional[str] = None) -> torch.Tensor:
    """Return ``valid`` as a boolean ``(length,)`` tensor; ``None`` means all valid.

    Raises:
        TypeError: if ``valid`` is not boolean.
        ValueError: if its shape is not ``(length,)``.
    """
    if valid is None:
        mask = torch.ones(length, dtype=torch.bool)
    else:
        mask = torch.as_tensor(valid) if not isinstance(valid, torch.Tensor) else valid
        if mask.dtype != torch.bool:
            raise TypeError(
                f"valid should be a boolean mask, but got dtype {mask.dtype}. "
                "Build it with a comparison, e.g. labels >= 0."
            )
        if tuple(mask.shape) != (length,):
            raise ValueError(
                f"valid should have shape ({length},), one entry per time step, but got "
                f"shape {tuple(mask.shape)}."
            )
    return mask.to(device) if device is not None else mask


def as_trial_ids(trial_ids: Any, length: int, device: Optional[str] = None) -> Optional[torch.Tensor]:
    """Return ``trial_ids`` as a long ``(length,)`` tensor, or ``None``.

    Raises:
        TypeError: if ``trial_ids`` is not integer.
        ValueError: if its shape is not ``(length,)``.
    """
    if trial_ids is None:
        return None
    ids = torch.as_tensor(trial_ids) if not isinstance(trial_ids, torch.Tensor) else trial_ids
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"trial_ids should hold integers, but got dtype {ids.dtype}.")
    if tuple(ids.shape) != (length,):
        raise ValueError(
            f"trial_ids should have shape ({length},), one entry per time step, but got "
            f"shape {tuple(ids.shape)}."
        )
    ids = ids.long()
    return ids.to(device) if device is not None else ids


def as_reference_index(reference_idx: Any, length: int, device: Optional[str] = None) -> torch.Tensor:
    """Return ``reference_idx`` as a 1-D long tensor of indices in ``[0, length)``.

    Raises:
        TypeError: for non-integer indices.
        ValueError: for a tensor that is not 1-D.
        IndexError: for indices outside ``[0, length)``.
    """
    if not isinstance(reference_idx, torch.Tensor):
        reference_idx = torch.as_tensor(np.asarray(reference_idx))
    if reference_idx.is_floating_point() or reference_idx.dtype == torch.bool:
        raise TypeError(
            f"reference_idx should hold integer indices, but got dtype {reference_idx.dtype}."
        )
    if reference_idx.dim() != 1:
        raise ValueError(
            f"reference_idx should be 1-D, but got shape {tuple(reference_idx.shape)}. "
            "Pass a 1-D tensor of reference indices."
        )
    reference_idx = reference_idx.long()
    if reference_idx.numel() > 0:
        low, high = int(reference_idx.min()), int(reference_idx.max())
        if low < 0 or high >= length:
            raise IndexError(
                f"reference_idx should lie in [0, {length}), but got values from {low} to {high}."
            )
    return reference_idx.to(device) if device is not None else reference_idx

