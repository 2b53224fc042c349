"""Interfaces of distributions and indices, and the one seeding helper.

A *distribution* draws time indices from labels only: a
:class:`PriorDistribution` draws reference (and negative) indices, a
:class:`ConditionalDistribution` draws one positive index per reference, a
:class:`JointDistribution` does both. An :class:`Index` answers exact
nearest-neighbour queries over a label space.

Seeding
-------
Every random draw in :mod:`cebra_data.distributions` goes through a
``torch.Generator`` that the object owns, created by :func:`as_generator`.
Nothing reads or writes a global random state (``torch.manual_seed``,
``np.random``, ``random``). A component that creates sub-components (a loader
creating distributions, a distribution creating a prior) gives each of them a
seed drawn from its own generator with :func:`derive_seed`, so one seed fixes
the whole tree and the order of construction fixes which child gets which
stream.

Generators always live on the CPU: random numbers are drawn on the CPU and the
resulting indices moved to the device of the distribution. Drawing a few
thousand integers per batch costs microseconds, and the same seed then gives
the same indices on every device.

Validity
--------
Every distribution accepts ``valid`` (boolean ``(N,)``) and ``trial_ids``
(integer ``(N,)``). Returned indices are always ``valid``; see each class for
the exact rule. :func:`as_valid_mask` and :func:`as_trial_ids` check them.
"""

from __future__ import annotations

import abc
from typing import Any, Optional, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import check_positive_int
from cebra_data.base import HasDevice, _normalize_device

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

#: What a ``seed`` argument accepts: an integer, ``None`` (fresh entropy) or a generator.
SeedLike = Union[int, None, torch.Generator]

_SEED_HIGH = 2**63 - 1


def as_generator(seed: SeedLike = None) -> torch.Generator:
    """Turn ``seed`` into a ``torch.Generator``; the one place where generators are made.

    Args:
        seed: a non-negative integer (a new generator seeded with it), ``None``
            (a new generator seeded from operating-system entropy, never from a
            global random state) or a ``torch.Generator`` (returned as is, so the
            caller and this object share one stream).

    Returns:
        The generator.

    Raises:
        TypeError: if ``seed`` is neither an integer, ``None`` nor a generator.
        ValueError: if ``seed`` is a negative integer or too large for 64 bits.

    Example:
        >>> import torch
        >>> from cebra_data.distributions.base import as_generator
        >>> a, b = as_generator(7), as_generator(7)
        >>> bool((torch.rand(3, generator=a) == torch.rand(3, generator=b)).all())
        True
        >>> g = torch.Generator()
        >>> as_generator(g) is g
        True
    """
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator()
    if seed is None:
        generator.seed()
        return generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            "seed should be a non-negative integer, None or a torch.Generator, but got "
            f"seed={seed!r} of type {type(seed).__name__}."
        )
    seed = int(seed)
    if not 0 <= seed <= 2**64 - 1:
        raise ValueError(
            f"seed should be an integer in [0, 2**64 - 1], but got seed={seed}."
        )
    generator.manual_seed(seed)
    return generator


def derive_seed(generator: torch.Generator) -> int:
    """Draw a child seed (an integer in ``[0, 2**63 - 1)``) from ``generator``.

    Use this to seed a sub-component: the child's stream is fixed by the
    parent's seed but independent of the parent's later draws.

    Example:
        >>> from cebra_data.distributions.base import as_generator, derive_seed
        >>> derive_seed(as_generator(1)) == derive_seed(as_generator(1))
        True
    """
    return int(torch.randint(0, _SEED_HIGH, (1,), generator=generator).item())


def spawn_generator(generator: torch.Generator) -> torch.Generator:
    """Return a new generator seeded with :func:`derive_seed` of ``generator``."""
    return as_generator(derive_seed(generator))


class HasGenerator(HasDevice):
    """Base for every object that draws random numbers.

    Owns a CPU ``torch.Generator`` made by :func:`as_generator` and offers
    the few draws the samplers need, each passing ``generator=`` explicitly and
    moving the result to :attr:`device`.

    Args:
        device: the device of the returned tensors.
        seed: see :func:`as_generator`.

    Example:
        >>> from cebra_data.distributions.base import HasGenerator
        >>> a, b = HasGenerator(seed=3), HasGenerator(seed=3)
        >>> bool((a.randint(0, 100, (5,)) == b.randint(0, 100, (5,))).all())
        True
    """

    def __init__(self, device: Union[str, torch.device] = "cpu", seed: SeedLike = None) -> None:
        HasDevice.__init__(self, device)
        self._seed = None if isinstance(seed, torch.Generator) else seed
        self._generator = as_generator(seed)

    @property
    def generator(self) -> torch.Generator:
        """The generator every draw of this object uses."""
        return self._generator

    @property
    def seed(self) -> Optional[int]:
        """The integer seed given at construction (``None`` for entropy or a shared generator)."""
        return self._seed

    def child_seed(self) -> int:
        """A seed for a sub-component, drawn from :attr:`generator`."""
        return derive_seed(self._generator)

    def randint(self, low: int, high: int, size: Tuple[int, ...]) -> torch.Tensor:
        """Integers uniform in ``[low, high)``, shape ``size``, on :attr:`device`."""
        out = torch.randint(low, high, size, generator=self._generator)
        return out.to(self.device)

    def randperm(self, n: int) -> torch.Tensor:
        """A uniformly random permutation of ``0 .. n - 1`` on :attr:`device`."""
        return torch.randperm(n, generator=self._generator).to(self.device)

    def randn(self, size: Tuple[int, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Standard normal numbers of shape ``size`` on :attr:`device`."""
        return torch.randn(size, generator=self._generator, dtype=dtype).to(self.device)

    def choice(self, candidates: torch.Tensor, num_samples: int) -> torch.Tensor:
        """Draw ``num_samples`` entries of ``candidates`` uniformly, with replacement."""
        pick = torch.randint(0, len(candidates), (num_samples,), generator=self._generator)
        return candidates[pick.to(candidates.device)]


class Index(abc.ABC):
    """An exact nearest-neighbour index over a label space.

    Subclasses implement :meth:`search`.
    """

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


def _device_str(device: Union[str, torch.device]) -> str:
    return _normalize_device(device)
