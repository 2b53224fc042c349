"""Small value types shared by datasets, distributions and loaders.

* :class:`Offset` -- how many samples left and right of an index a model sees.
* :class:`BatchIndex` -- the indices a loader draws for one batch.
* :class:`Batch` -- the data windows gathered for a :class:`BatchIndex`.
"""

from __future__ import annotations

import collections
import copyreg
import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np
import torch

from cebra_data.device import DeviceLike

__all__ = ["Batch", "BatchIndex", "Offset"]


class Offset:
    """Number of samples left and right of an index that a model looks at.

    ``Offset(left, right)`` describes the window ``[i - left, i + right)`` around
    a time index ``i``: ``left`` samples before it and ``right`` samples starting
    at it, so ``right`` always counts the current sample and must be at least 1.
    A single value ``Offset(k)`` is symmetric: ``left = right = k``. The window
    has ``len(offset) = left + right`` samples and the exact formula used by
    :meth:`cebra_data.Dataset.expand_index` is::

        expanded[i, j] = index[i] + j - offset.left,   j = 0 .. len(offset) - 1

    An index ``i`` of a recording with ``N`` samples has a full window when
    ``offset.left <= i <= N - offset.right``.

    Offsets are immutable, comparable and hashable, so they can be used as
    dataclass defaults and dictionary keys. They pickle in the layout of
    ``cebra.data.Offset`` (the class, then the state ``(None, {"left": l, "right": r})``),
    so each reads the other's pickles. A pickle names the class
    ``cebra_data.datatypes.Offset``; once CEBRA runs on this package
    (:func:`cebra_data.patch_cebra`), ``cebra.data.datatypes.Offset``, which is then
    this class, and which CEBRA alone reads as its own.

    Args:
        *offset: one integer (symmetric) or two integers ``(left, right)``.

    Raises:
        TypeError: if a bound is not an integer.
        ValueError: for a wrong number of bounds, a negative ``left`` or a
            ``right`` smaller than 1.

    Example:
        >>> from cebra_data import Offset
        >>> offset = Offset(5, 5)
        >>> len(offset), offset.left, offset.right
        (10, 5, 5)
        >>> Offset(0, 1)
        Offset(left=0, right=1, length=1)
        >>> Offset(3) == Offset(3, 3)
        True
    """

    __slots__ = ("_left", "_right")

    def __init__(self, *offset: int) -> None:
        if len(offset) == 1 and isinstance(offset[0], Offset):
            offset = (offset[0].left, offset[0].right)
        if len(offset) == 1:
            left = right = offset[0]
        elif len(offset) == 2:
            left, right = offset
        else:
            raise ValueError(
                "Invalid number of elements to bound the Offset: expected one value (symmetric) "
                f"or two values (left, right), but got {len(offset)} values: {offset!r}."
            )
        self._set_bounds(left, right)

    def _set_bounds(self, left: Any, right: Any) -> None:
        """Check the two bounds and store them (once: the object is immutable afterwards)."""
        left = self._as_int(left, "left")
        right = self._as_int(right, "right")
        if left < 0:
            raise ValueError(
                f"Invalid Offset bounds: the left bound should be >= 0, but got left={left}. "
                "It counts the samples before the current index."
            )
        if right < 1:
            raise ValueError(
                f"Invalid Offset bounds: the right bound should be >= 1, but got right={right}. By convention "
                "the right bound includes the current index: use Offset(0, 1) for a "
                "window of only the current sample."
            )
        object.__setattr__(self, "_left", left)
        object.__setattr__(self, "_right", right)

    @staticmethod
    def _as_int(value: Any, name: str) -> int:
        if isinstance(value, torch.Tensor) and value.ndim == 0:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise TypeError(
                f"Invalid Offset bounds: the {name} bound should be an integer, but got {value!r} "
                f"of type {type(value).__name__}."
            )
        return int(value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Offset is immutable; create a new Offset instead.")

    def __reduce_ex__(self, protocol: Any) -> Tuple[Any, ...]:
        """Pickle as ``cebra.data.Offset`` does: the class, then the slot state.

        The state is ``(None, {"left": left, "right": right})``, the layout of CEBRA's
        ``Offset`` (a class with the slots ``left`` and ``right``), so one unpickler reads
        both; :meth:`__setstate__` checks it as the constructor checks its arguments.
        """
        return copyreg.__newobj__, (type(self),), (None, {"left": self._left, "right": self._right})

    def __setstate__(self, state: Any) -> None:
        """Restore an unpickled Offset from ``(None, {"left": l, "right": r})``.

        That is the state both CEBRA's ``Offset`` and this one pickle (a bare
        ``{"left": l, "right": r}`` is accepted too). Only an Offset that is being
        unpickled has no bounds yet; on any other the call fails, as every other
        attempt to change an Offset does.

        Raises:
            AttributeError: if the Offset already has its bounds.
            TypeError: if ``state`` does not have that layout.
            ValueError: if a bound is out of range (as for the constructor).
        """
        if hasattr(self, "_left"):
            raise AttributeError("Offset is immutable; create a new Offset instead.")
        slots = state[1] if isinstance(state, tuple) and len(state) == 2 and state[0] is None else state
        if not isinstance(slots, dict) or set(slots) != {"left", "right"}:
            raise TypeError(
                "An unpickled Offset should have the state (None, {'left': left, 'right': right}), "
                f"but got {state!r}."
            )
        self._set_bounds(slots["left"], slots["right"])

    @property
    def left(self) -> int:
        """Number of samples before the current index."""
        return self._left

    @property
    def right(self) -> int:
        """Number of samples from the current index on (at least 1)."""
        return self._right

    @property
    def left_slice(self) -> slice:
        """Slice from the array start to the left border: ``slice(0, left)``."""
        return slice(0, self._left)

    @property
    def right_slice(self) -> slice:
        """Slice from the right border to the array end: ``slice(-right, None)``."""
        return slice(-self._right, None)

    @property
    def valid_slice(self) -> slice:
        """Slice between the two borders: ``slice(left, -right)``.

        Kept exactly as in ``cebra.data``: applied to an array of length ``N`` it
        keeps the ``N - len(offset)`` entries between :attr:`left_slice` and
        :attr:`right_slice`. Note that index ``N - right`` still has a full window;
        use :meth:`cebra_data.Dataset.sample_mask` for the exact set of indices
        with a full window.
        """
        return slice(self._left, -self._right)

    def __len__(self) -> int:
        return self._left + self._right

    def mask_array(self, array: Any, value: Any) -> Any:
        """Set the border entries of ``array`` (left and right slices) to ``value``.

        The array is modified in place and returned, as in ``cebra.data``.
        """
        array[self.left_slice] = value
        array[self.right_slice] = value
        return array

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Offset):
            return NotImplemented
        return (self._left, self._right) == (other._left, other._right)

    def __hash__(self) -> int:
        return hash((Offset, self._left, self._right))

    def __iter__(self):
        """Iterate over ``(left, right)``, so ``left, right = offset`` works."""
        return iter((self._left, self._right))

    def __repr__(self) -> str:
        return f"Offset(left={self._left}, right={self._right}, length={len(self)})"


BatchIndex = collections.namedtuple(
    "BatchIndex",
    ["reference", "positive", "negative", "index", "index_reversed"],
    defaults=(None, None),
)
BatchIndex.__doc__ = """Indices of one batch, as drawn by a loader.

A named tuple ``(reference, positive, negative, index=None, index_reversed=None)``:
``reference`` holds the indices of the reference samples, ``positive`` those of
the positive samples drawn from the conditional, and ``negative`` those of the
negative samples drawn from the prior. For multi-session batches, ``index`` is
the permutation of the stacked ``num_sessions * batch`` references that lines
each reference up with its positive (see
:func:`cebra_data.distributions.multisession.mix`), and ``index_reversed`` is its
inverse.

Example:
    >>> import torch
    >>> from cebra_data import BatchIndex
    >>> idx = BatchIndex(torch.tensor([3]), torch.tensor([4]), torch.tensor([9]))
    >>> idx.index is None
    True
"""

TensorLike = Union[torch.Tensor, np.ndarray]


class Batch:
    """Reference, positive and negative samples of one batch.

    Attributes:
        reference: the reference windows, ``(batch, input_dimension, len(offset))``.
        positive: the positive windows, same layout.
        negative: the negative windows, same layout.
        index: the multi-session alignment permutation (see :class:`BatchIndex`),
            or ``None``.
        index_reversed: its inverse, or ``None``.

    Example:
        >>> import torch
        >>> from cebra_data import Batch
        >>> batch = Batch(torch.zeros(2, 3, 1), torch.zeros(2, 3, 1), torch.zeros(2, 3, 1))
        >>> batch.to("cpu").reference.shape
        torch.Size([2, 3, 1])
    """

    __slots__ = ("reference", "positive", "negative", "index", "index_reversed")

    def __init__(
        self,
        reference: torch.Tensor,
        positive: torch.Tensor,
        negative: torch.Tensor,
        index: Optional[TensorLike] = None,
        index_reversed: Optional[TensorLike] = None,
    ) -> None:
        self.reference = reference
        self.positive = positive
        self.negative = negative
        self.index = index
        self.index_reversed = index_reversed

    @classmethod
    def from_batch_like(cls, batch: Any) -> "Batch":
        """Return ``batch`` as a :class:`Batch` (itself if it already is one).

        Any object with ``reference``, ``positive`` and ``negative`` attributes
        (and optionally ``index`` and ``index_reversed``), such as the
        ``cebra.data.Batch`` that CEBRA's datasets return, is converted; the
        tensors are shared, not copied.

        Args:
            batch: a :class:`Batch` or a batch-like object.

        Returns:
            A :class:`Batch` holding the same tensors.

        Raises:
            TypeError: if ``batch`` lacks ``reference``, ``positive`` or ``negative``.

        Example:
            >>> import torch
            >>> from types import SimpleNamespace
            >>> from cebra_data import Batch
            >>> foreign = SimpleNamespace(reference=torch.zeros(2, 3, 1), positive=torch.ones(2, 3, 1),
            ...                           negative=torch.zeros(2, 3, 1))
            >>> batch = Batch.from_batch_like(foreign)
            >>> type(batch).__name__, batch.positive is foreign.positive, batch.index is None
            ('Batch', True, True)
        """
        if isinstance(batch, cls):
            return batch
        missing = [name for name in ("reference", "positive", "negative") if not hasattr(batch, name)]
        if missing:
            raise TypeError(
                "A batch should have reference, positive and negative attributes (e.g. "
                f"cebra_data.Batch or cebra.data.Batch), but {type(batch).__name__} lacks "
                f"{', '.join(missing)}."
            )
        return cls(
            batch.reference,
            batch.positive,
            batch.negative,
            index=getattr(batch, "index", None),
            index_reversed=getattr(batch, "index_reversed", None),
        )

    def to(self, device: DeviceLike) -> "Batch":
        """Move every tensor of the batch (indices included) to ``device``; returns ``self``."""
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
        return self

    def __iter__(self):
        """Iterate over ``(reference, positive, negative)``."""
        return iter((self.reference, self.positive, self.negative))

    def __repr__(self) -> str:
        def shape(value: Any) -> Tuple[int, ...] | None:
            return tuple(value.shape) if value is not None else None

        return (
            f"Batch(reference={shape(self.reference)}, positive={shape(self.positive)}, "
            f"negative={shape(self.negative)}, index={'set' if self.index is not None else None})"
        )
