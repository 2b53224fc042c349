"""Missing values of in-memory datasets: which time steps are excluded from sampling (layer L3).

:class:`MissingValues` gives :class:`cebra_data.TensorDataset` its
``excluded_mask`` and counts. A time step is excluded when its continuous
label is NaN, or (with ``neural_nan="mask"``) when its window touches a time
step whose neural values were NaN.
"""

from __future__ import annotations

from typing import Optional

import torch

from cebra_data.datatypes import Offset

__all__ = ["MissingValues", "window_touches"]


def window_touches(offset: Offset, marked: torch.Tensor) -> torch.Tensor:
    """``(N,)`` ``True`` where the window ``[i - left, i + right)`` (clipped to the recording) has a marked step.

    Example:
        >>> import torch
        >>> from cebra_data import Offset
        >>> from cebra_data.missing import window_touches
        >>> marked = torch.tensor([False, False, True, False, False, False])
        >>> window_touches(Offset(1, 2), marked).int().tolist()
        [0, 1, 1, 1, 0, 0]
    """
    n = marked.numel()
    left, right = offset
    counts = torch.zeros(n + 1, dtype=torch.long, device=marked.device)
    counts[1:] = torch.cumsum(marked.long(), 0)
    position = torch.arange(n, device=marked.device)
    low = (position - left).clamp(min=0)
    high = (position + right).clamp(max=n)
    return counts[high] > counts[low]


class MissingValues:
    """Mixin: the dataset stores ``_label_missing`` and ``_neural_missing`` (``(N,)`` masks or ``None``)."""

    @property
    def neural_missing(self) -> Optional[torch.Tensor]:
        """``(N,)`` ``True`` at time steps whose neural values were NaN (``neural_nan="mask"``)."""
        return self._neural_missing

    @property
    def excluded_mask(self) -> Optional[torch.Tensor]:
        """``True`` at time steps excluded from sampling, ``None`` if there are none.

        A time step is excluded when its continuous label is NaN, or (with
        ``neural_nan="mask"``) when its window under the current
        :attr:`offset` touches a time step with missing neural values.
        """
        excluded = self._label_missing
        if self._neural_missing is not None:
            touches = window_touches(self.offset, self._neural_missing)
            excluded = touches if excluded is None else excluded | touches
        return excluded

    @property
    def num_excluded(self) -> int:
        """The number of time steps excluded from sampling (missing label or missing neural values)."""
        excluded = self.excluded_mask
        return 0 if excluded is None else int(excluded.sum())

    @property
    def num_missing_labels(self) -> int:
        """The number of time steps whose continuous label has a NaN."""
        return 0 if self._label_missing is None else int(self._label_missing.sum())

    @property
    def num_missing_neural(self) -> int:
        """The number of time steps whose neural values had a NaN (``neural_nan="mask"``)."""
        return 0 if self._neural_missing is None else int(self._neural_missing.sum())
