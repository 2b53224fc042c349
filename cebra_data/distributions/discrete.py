"""Distributions over a discrete (integer) index.

Labels may be any integers -- negative, non-contiguous (``{0, 5, 9}``) or
large (``10**9``): they are mapped to class codes ``0 .. K-1`` once, at
construction (``torch.unique``), and every draw works on the codes.

Precomputed at construction: the valid time steps sorted by class, and each
class's start and count in that order. A draw is then a few vectorised ops:

* empirical prior -- a uniform valid time step;
* uniform prior -- a uniform class, then a uniform time step of that class,
  so each label value has probability exactly ``1 / K``;
* conditional -- a uniform time step of the reference's class.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from cebra_data._validation import check_positive_int
from cebra_data.device import DeviceLike
from cebra_data.distributions.base import (
    ConditionalDistribution,
    HasGenerator,
    PriorDistribution,
    SeedLike,
    as_reference_index,
    as_valid_mask,
)
from cebra_data.distributions.registry import register_prior

__all__ = ["as_discrete", "Discrete", "DiscreteUniform", "DiscreteEmpirical"]

# Within-class draws take a 62-bit random integer modulo the class size: the
# deviation from exact uniformity is below size / 2**62 (< 1e-9 for 10**9 samples).
_WIDE = 2**62


def as_discrete(samples: Any, name: str = "samples") -> torch.Tensor:
    """Return ``samples`` as a 1-D ``torch.long`` tensor of labels.

    Floating point labels are accepted only if every value is a whole number
    (no silent truncation).

    Raises:
        TypeError: for a non-numeric input.
        ValueError: for a shape other than ``(N,)`` or non-integral float labels.
    """
    if isinstance(samples, np.ndarray):
        if samples.dtype.kind not in "biuf":
            raise TypeError(f"{name} should hold integer labels, but got dtype {samples.dtype}.")
        samples = torch.from_numpy(samples)
    elif not isinstance(samples, torch.Tensor):
        raise TypeError(
            f"{name} should be a 1-D integer tensor or numpy array, but got "
            f"{type(samples).__name__}."
        )
    if samples.dim() != 1:
        raise ValueError(
            f"{name} should be 1-D (one label per time step), but got shape "
            f"{tuple(samples.shape)}. Combine several label columns into one first."
        )
    if samples.is_complex():
        raise TypeError(f"{name} should hold integer labels, but got dtype {samples.dtype}.")
    if samples.is_floating_point():
        if not bool((torch.isfinite(samples) & (samples == samples.round())).all()):
            raise ValueError(
                f"{name} should hold integer labels, but got non-integral or non-finite "
                f"values in a tensor of dtype {samples.dtype}."
            )
    return samples.long()


class Discrete(ConditionalDistribution, HasGenerator):
    """Resample a 1-D discrete index.

    Draws from the empirical distribution (:meth:`sample_empirical`), from the
    distribution that makes every label value equally likely
    (:meth:`sample_uniform`), and positives sharing a reference's label
    (:meth:`sample_conditional`). Only ``valid`` time steps are ever returned.

    Args:
        samples: ``(N,)`` integer labels.
        device: device of the returned indices.
        seed: see :func:`cebra_data.distributions.base.as_generator`.
        valid: optional boolean ``(N,)``; time steps marked ``False`` are never
            returned, and label values with no valid time step are never drawn.
        trial_ids: accepted for a uniform signature; a discrete conditional
            does not move in time, so trials do not constrain it.

    Raises:
        ValueError: if no time step is valid.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import Discrete
        >>> labels = torch.tensor([9, 9, 9, -3, 5])
        >>> dist = Discrete(labels, seed=0)
        >>> reference = dist.sample_uniform(4)
        >>> positive = dist.sample_conditional(reference)
        >>> bool((labels[positive] == labels[reference]).all())
        True
    """

    def __init__(
        self,
        samples: torch.Tensor,
        device: DeviceLike = "cpu",
        seed: SeedLike = None,
        valid: Optional[torch.Tensor] = None,
        trial_ids: Optional[torch.Tensor] = None,
    ) -> None:
        HasGenerator.__init__(self, device=device, seed=seed)
        labels = as_discrete(samples).to(self.device)
        self.samples = labels
        self.valid = as_valid_mask(valid, len(labels), self.device)
        rows = self.valid.nonzero().flatten()
        if len(rows) == 0:
            raise ValueError(
                f"Discrete needs at least one valid time step, but all {len(labels)} are "
                "marked invalid. A time step is invalid when its window leaves the recording "
                "(or its trial), its continuous label is NaN (missing) or its neural row is "
                "masked; dataset.describe() counts each."
            )
        #: the distinct label values with at least one valid time step, ascending
        self.values = torch.unique(labels[rows])
        codes = torch.searchsorted(self.values, labels[rows])
        order = torch.argsort(codes, stable=True)
        #: valid time steps sorted by class (stable: ascending time within a class)
        self.sorted_idx = rows[order]
        self.counts = torch.bincount(codes, minlength=len(self.values))
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        # class code of every time step (-1 where invalid)
        self.codes = torch.full((len(labels),), -1, dtype=torch.long, device=self.device)
        self.codes[rows] = codes

    @property
    def num_samples(self) -> int:
        """Number of time steps in the index."""
        return len(self.samples)

    @property
    def num_classes(self) -> int:
        """Number of label values with at least one valid time step."""
        return len(self.values)

    @property
    def support(self) -> torch.Tensor:
        """The valid time steps, ascending."""
        return self.valid.nonzero().flatten()

    def _in_class(self, codes: torch.Tensor) -> torch.Tensor:
        """One uniformly drawn valid time step of each given class code."""
        # index_select instead of tensor[index]: the same values, several times faster
        wide = torch.randint(0, _WIDE, (len(codes),), generator=self._generator)
        position = wide.to(codes.device).remainder_(self.counts.index_select(0, codes))
        return self.sorted_idx.index_select(0, position.add_(self.starts.index_select(0, codes)))

    def sample_empirical(self, num_samples: int) -> torch.Tensor:
        """Draw time steps uniformly among the valid ones.

        Label values then appear with their frequency among valid time steps.

        Args:
            num_samples: number of indices to draw.

        Returns:
            ``(num_samples,)`` long tensor of time indices.
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        return self.sorted_idx.index_select(0, self.randint(0, len(self.sorted_idx), (num_samples,)))

    def sample_uniform(self, num_samples: int) -> torch.Tensor:
        """Draw time steps so that every label value is equally likely.

        A class is drawn uniformly among the :attr:`num_classes` label values,
        then a time step uniformly within it: each value has probability
        exactly ``1 / num_classes``, whatever the values are.

        Args:
            num_samples: number of indices to draw.

        Returns:
            ``(num_samples,)`` long tensor of time indices.
        """
        num_samples = check_positive_int(num_samples, "num_samples")
        return self._in_class(self.randint(0, self.num_classes, (num_samples,)))

    def sample_conditional(self, reference_idx: torch.Tensor) -> torch.Tensor:
        """Draw, for each reference time step, a valid time step with the same label.

        Args:
            reference_idx: ``(B,)`` time indices (of valid time steps).

        Returns:
            ``(B,)`` long tensor; entry ``i`` is uniform among the valid time
            steps labelled ``samples[reference_idx[i]]``.

        Raises:
            ValueError: if a reference index is not a valid time step.
        """
        reference_idx = as_reference_index(reference_idx, self.num_samples, self.device)
        codes = self.codes[reference_idx]
        if bool((codes < 0).any()):
            bad = reference_idx[codes < 0][:10].tolist()
            raise ValueError(
                f"reference_idx contains time steps marked invalid: {bad}. Draw references "
                "with sample_prior, or use sample_conditional_labels to condition on values."
            )
        return self._in_class(codes)

    def _sample_conditional_trusted(self, reference_idx: torch.Tensor) -> torch.Tensor:
        return self._in_class(self.codes.index_select(0, reference_idx))

    def sample_conditional_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Draw, for each label value, a valid time step carrying that value.

        This is what ``cebra.distributions.Discrete.sample_conditional`` does
        with label values; here it has its own name so that
        :meth:`sample_conditional` takes reference *indices* like every other
        distribution.

        Args:
            labels: ``(B,)`` label values.

        Returns:
            ``(B,)`` long tensor of time indices.

        Raises:
            ValueError: if a value has no valid time step.
        """
        labels = as_discrete(torch.as_tensor(labels), "labels").to(self.device)
        codes = torch.searchsorted(self.values, labels).clamp_max(self.num_classes - 1)
        unknown = self.values[codes] != labels
        if bool(unknown.any()):
            missing = torch.unique(labels[unknown])[:10].tolist()
            raise ValueError(
                f"No valid time step has the label value(s) {missing}; the values with valid "
                f"time steps are {self.values[:10].tolist()}"
                + (" ..." if self.num_classes > 10 else "")
                + "."
            )
        return self._in_class(codes)


class DiscreteUniform(Discrete, PriorDistribution):
    """:class:`Discrete` whose prior makes every label value equally likely.

    Example:
        >>> import torch
        >>> from cebra_data.distributions import DiscreteUniform
        >>> labels = torch.tensor([0] * 98 + [5, 9])
        >>> picked = labels[DiscreteUniform(labels, seed=1).sample_prior(3000)]
        >>> [round(float((picked == v).float().mean()), 1) for v in (0, 5, 9)]
        [0.3, 0.3, 0.3]
    """

    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """See :meth:`Discrete.sample_uniform`."""
        return self.sample_uniform(num_samples)


class DiscreteEmpirical(Discrete, PriorDistribution):
    """:class:`Discrete` whose prior draws valid time steps uniformly (label frequencies kept).

    Example:
        >>> import torch
        >>> from cebra_data.distributions import DiscreteEmpirical
        >>> labels = torch.tensor([0] * 90 + [5] * 10)
        >>> picked = labels[DiscreteEmpirical(labels, seed=1).sample_prior(5000)]
        >>> round(float((picked == 5).float().mean()), 1)
        0.1
    """

    def sample_prior(self, num_samples: int) -> torch.Tensor:
        """See :meth:`Discrete.sample_empirical`."""
        return self.sample_empirical(num_samples)


register_prior("empirical", DiscreteEmpirical)
register_prior("uniform", DiscreteUniform)
