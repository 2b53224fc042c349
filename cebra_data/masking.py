"""Masking augmentations applied to the data windows of a batch.

A mask sets parts of each data window ``(batch, neurons, time)`` to zero:

* :class:`RandomNeuronMask` -- each neuron of each window is masked, over the
  whole window, with probability ``ratio``;
* :class:`RandomTimestepMask` -- each time step of each window is masked, for
  all neurons, with probability ``ratio``;
* :class:`NeuronBlockMask` -- one contiguous block of
  ``floor(neurons * ratio)`` neurons per window;
* :class:`TimeBlockMask` -- ``floor(time * sampled_rate)`` distinct start
  steps per window, each masking a span of ``masked_seq_len`` steps (spans may
  overlap and are cut at the end of the window).

Every dataset is a :class:`MaskedMixin`: ``dataset.set_masks({...}, seed=...)``
turns masking on, and ``load_batch`` then applies one of the configured masks,
chosen at random for each batch, to the gathered windows. Without masks,
:meth:`MaskedMixin.apply_mask` returns its input object unchanged.

Ratio values
------------
The ratio of :class:`RandomNeuronMask`, :class:`RandomTimestepMask` and
:class:`NeuronBlockMask` is given as

* a number in ``(0, 1)``, used for every batch;
* a list of numbers in ``(0, 1)``, one of which is picked for each batch;
* a tuple ``(min, max, step)`` with ``0 <= min < max <= 1`` and
  ``0 < step <= max - min``, which stands for the list
  ``min, min + step, ...`` up to ``max`` (included when it lies on the grid).

:class:`TimeBlockMask` takes a tuple ``(sampled_rate, masked_seq_len)``: a
number in ``(0, 1)`` and a positive integer.

Randomness
----------
Each mask owns a ``torch.Generator`` (made from its ``seed`` by
:func:`cebra_data.distributions.base.as_generator`); :meth:`MaskedMixin.set_masks`
derives the masks' seeds from its own ``seed``. No global random state is used.

Example:
    >>> import torch
    >>> from cebra_data import TensorDataset
    >>> ds = TensorDataset(torch.ones(100, 20), continuous=torch.zeros(100, 1), offset=(2, 3))
    >>> ds.set_masks({"RandomNeuronMask": 0.3, "TimeBlockMask": (0.2, 2)}, seed=0)
    >>> windows = ds.apply_mask(ds[torch.arange(10, 74)])
    >>> windows.shape
    torch.Size([64, 20, 5])
    >>> 0.0 < float((windows == 0).float().mean()) < 1.0
    True
"""

from __future__ import annotations

import abc
import math
import numbers
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

import numpy as np
import torch

from cebra_data._validation import check_positive_int
from cebra_data.errors import MaskingTypeError, MaskingValueError, UnknownChoiceError
from cebra_data.seeding import as_generator, derive_seed

__all__ = [
    "Mask",
    "RandomNeuronMask",
    "RandomTimestepMask",
    "NeuronBlockMask",
    "TimeBlockMask",
    "MaskedMixin",
    "MASKS",
    "MaskingValueError",
    "MaskingTypeError",
]


#: What a ratio parameter accepts: a number, a list of numbers, or ``(min, max, step)``.
MaskingValue = Union[float, list, tuple]

#: Absolute tolerance that keeps ``n * ratio`` and grid points robust to float round-off.
_EPS = 1e-9


def _is_real(value: Any) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _block_count(size: int, fraction: float) -> int:
    """``floor(size * fraction)``, robust to round-off (``100 * 0.29`` gives 29, not 28)."""
    return min(size, int(math.floor(size * fraction + _EPS)))


def _check_windows(data: Any) -> torch.Tensor:
    """Return ``data`` if it is a floating 3-D tensor ``(batch, neurons, time)``."""
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            "masks apply to a torch.Tensor of windows (batch, neurons, time), but got "
            f"{type(data).__name__}."
        )
    if not data.is_floating_point():
        raise MaskingTypeError(
            "Data must be a float32 tensor (or another floating-point dtype) for masking, "
            f"but got a tensor of dtype {data.dtype}."
        )
    if data.ndim != 3:
        raise ValueError(
            "Data must be a 3D tensor of windows (batch, neurons, time) for masking, but got a "
            f"{data.ndim}-D tensor of shape {tuple(data.shape)}."
        )
    return data


class Mask(abc.ABC):
    """Base class of the masks: draws which entries of a window batch to zero.

    Subclasses implement :meth:`keep`, which returns a boolean tensor that
    broadcasts to ``(batch, neurons, time)``, and
    :meth:`_check_masking_parameters`, which validates the masking value.

    Args:
        masking_value: the mask's parameter (see the subclasses).
        seed: seed of the mask's generator: an integer, ``None`` (fresh entropy
            from the operating system) or a ``torch.Generator`` to share.

    Raises:
        TypeError: if ``masking_value`` has the wrong type.
        ValueError: if ``masking_value`` is out of range.
    """

    def __init__(self, masking_value: MaskingValue, *, seed: Any = None) -> None:
        self.masking_value = masking_value
        self._params = self._check_masking_parameters(masking_value)
        self._generator = as_generator(seed)

    @property
    def generator(self) -> torch.Generator:
        """The generator every draw of this mask uses."""
        return self._generator

    @classmethod
    @abc.abstractmethod
    def _check_masking_parameters(cls, masking_value: Any) -> Any:
        """Validate ``masking_value`` and return it in the form the mask draws from."""

    @abc.abstractmethod
    def keep(self, batch_size: int, num_neurons: int, num_timesteps: int) -> torch.Tensor:
        """Draw which entries to keep.

        Returns:
            A boolean CPU tensor that broadcasts to ``(batch_size, num_neurons,
            num_timesteps)``: ``True`` keeps an entry, ``False`` masks it.
        """

    def apply_mask(self, data: torch.Tensor) -> torch.Tensor:
        """Draw a mask for ``data`` (as ``cebra.data.masking``: the mask, not the masked data).

        Args:
            data: windows of shape ``(batch, neurons, time)``.

        Returns:
            A tensor of ``data``'s shape, dtype and device holding ``1`` where a
            value is kept and ``0`` where it is masked (a broadcast view, so it
            costs no memory beyond the drawn pattern).

        Raises:
            TypeError: if ``data`` is not a floating-point tensor.
            ValueError: if ``data`` is not 3-D.
        """
        data = _check_windows(data)
        keep = self.keep(*data.shape)
        return keep.to(device=data.device, dtype=data.dtype).expand(data.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.masking_value!r})"


def _as_ratio(value: Any, name: str, *, low_open: bool = True, high_open: bool = True) -> float:
    if not _is_real(value):
        raise MaskingTypeError(
            f"{name} should be a number, but got {value!r} of type {type(value).__name__}."
        )
    value = float(value)
    too_low = value <= 0.0 if low_open else value < 0.0
    too_high = value >= 1.0 if high_open else value > 1.0
    if not math.isfinite(value) or too_low or too_high:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise MaskingValueError(f"{name} should lie between 0.0 and 1.0, in {interval}, but got {value}.")
    return value


class _RatioMask(Mask):
    """A mask whose parameter is a ratio given as a number, a list or a ``(min, max, step)`` grid."""

    @classmethod
    def _check_masking_parameters(cls, masking_value: Any) -> Tuple[float, ...]:
        name = f"{cls.__name__} ratio"
        if isinstance(masking_value, list):
            if not masking_value:
                raise MaskingValueError(f"{name} list should hold at least one ratio, but got [].")
            return tuple(_as_ratio(v, f"every {name} in the list") for v in masking_value)
        if isinstance(masking_value, tuple):
            if len(masking_value) != 3:
                raise MaskingValueError(
                    f"{name} given as a tuple should be (min, max, step), but got "
                    f"{len(masking_value)} values: {masking_value!r}. Use a list for a set of ratios."
                )
            low = _as_ratio(masking_value[0], f"{name} min", low_open=False)
            high = _as_ratio(masking_value[1], f"{name} max", high_open=False)
            step = masking_value[2]
            if not _is_real(step):
                raise MaskingTypeError(f"{name} step should be a number, but got {step!r}.")
            step = float(step)
            if not low < high:
                raise MaskingValueError(f"{name} min should be smaller than max, but got {masking_value!r}.")
            if not 0.0 < step <= high - low + _EPS:
                raise MaskingValueError(
                    f"{name} step should be > 0 and at most max - min = {high - low:g}, "
                    f"but got step={step}."
                )
            count = int(math.floor((high - low) / step + _EPS)) + 1
            return tuple(min(round(low + k * step, 12), high) for k in range(count))
        if _is_real(masking_value):
            return (_as_ratio(masking_value, name),)
        raise MaskingTypeError(
            f"{name} should be a number in (0, 1), a list of such numbers or a tuple "
            f"(min, max, step), but got {masking_value!r} of type {type(masking_value).__name__}."
        )

    @property
    def choices(self) -> Tuple[float, ...]:
        """The ratios one is picked from for each batch."""
        return self._params

    def _select_masking_params(self) -> float:
        """The ratio for one batch: the single value, or a uniform pick among :attr:`choices`."""
        if len(self._params) == 1:
            return self._params[0]
        pick = torch.randint(0, len(self._params), (1,), generator=self._generator)
        return self._params[int(pick)]


class RandomNeuronMask(_RatioMask):
    """Mask each neuron of each window, over all its time steps, with probability ``ratio``.

    Args:
        masking_value: the ratio (see :mod:`cebra_data.masking`); 0.3 is the
            value used in the MtM paper.
        seed: see :class:`Mask`.

    Example:
        >>> import torch
        >>> from cebra_data.masking import RandomNeuronMask
        >>> mask = RandomNeuronMask(0.5, seed=0).apply_mask(torch.ones(4, 6, 3))
        >>> bool((mask == mask[:, :, :1]).all())  # one decision per neuron and window
        True
    """

    @property
    def mask_ratio(self) -> MaskingValue:
        """The masking value as given (``cebra.data`` name)."""
        return self.masking_value

    def keep(self, batch_size: int, num_neurons: int, num_timesteps: int) -> torch.Tensor:
        ratio = self._select_masking_params()
        draw = torch.rand(batch_size, num_neurons, generator=self._generator)
        return (draw >= ratio)[:, :, None]


class RandomTimestepMask(_RatioMask):
    """Mask each time step of each window, for all neurons, with probability ``ratio``.

    Args:
        masking_value: the ratio (see :mod:`cebra_data.masking`).
        seed: see :class:`Mask`.

    Example:
        >>> import torch
        >>> from cebra_data.masking import RandomTimestepMask
        >>> mask = RandomTimestepMask([0.2, 0.4], seed=0).apply_mask(torch.ones(4, 6, 3))
        >>> bool((mask == mask[:, :1, :]).all())  # one decision per time step and window
        True
    """

    @property
    def mask_ratio(self) -> MaskingValue:
        """The masking value as given (``cebra.data`` name)."""
        return self.masking_value

    def keep(self, batch_size: int, num_neurons: int, num_timesteps: int) -> torch.Tensor:
        ratio = self._select_masking_params()
        draw = torch.rand(batch_size, num_timesteps, generator=self._generator)
        return (draw >= ratio)[:, None, :]


class NeuronBlockMask(_RatioMask):
    """Mask one contiguous block of ``floor(neurons * ratio)`` neurons per window.

    The block's first neuron is uniform over the positions where the whole
    block fits; the block spans all time steps of the window.

    Args:
        masking_value: the ratio (see :mod:`cebra_data.masking`).
        seed: see :class:`Mask`.

    Example:
        >>> import torch
        >>> from cebra_data.masking import NeuronBlockMask
        >>> mask = NeuronBlockMask(0.5, seed=0).apply_mask(torch.ones(3, 10, 2))
        >>> (mask[:, :, 0] == 0).sum(dim=1).tolist()
        [5, 5, 5]
    """

    @property
    def mask_prop(self) -> MaskingValue:
        """The masking value as given (``cebra.data`` name)."""
        return self.masking_value

    def keep(self, batch_size: int, num_neurons: int, num_timesteps: int) -> torch.Tensor:
        width = _block_count(num_neurons, self._select_masking_params())
        if width == 0:
            return torch.ones(1, 1, 1, dtype=torch.bool)
        start = torch.randint(0, num_neurons - width + 1, (batch_size, 1), generator=self._generator)
        position = torch.arange(num_neurons)[None, :]
        masked = (position >= start) & (position < start + width)
        return ~masked[:, :, None]


class TimeBlockMask(Mask):
    """Mask spans of time steps, as the wav2vec 2.0 masking strategy.

    For each window, ``floor(time * sampled_rate)`` distinct start steps are
    drawn uniformly; each masks itself and the following steps, up to
    ``masked_seq_len`` steps in total (cut at the end of the window). Spans may
    overlap. A span covers all neurons.

    Args:
        masking_value: the tuple ``(sampled_rate, masked_seq_len)``: a number in
            ``(0, 1)`` and a positive integer.
        seed: see :class:`Mask`.

    Example:
        >>> import torch
        >>> from cebra_data.masking import TimeBlockMask
        >>> mask = TimeBlockMask((0.1, 3), seed=0).apply_mask(torch.ones(2, 4, 20))
        >>> (mask[:, 0, :] == 0).sum(dim=1).le(6).all().item()  # 2 spans of 3 steps at most
        True
        >>> bool((mask == mask[:, :1, :]).all())  # one decision per time step and window
        True
    """

    @classmethod
    def _check_masking_parameters(cls, masking_value: Any) -> Tuple[float, int]:
        if not isinstance(masking_value, tuple) or len(masking_value) != 2:
            raise MaskingTypeError(
                "TimeBlockMask needs a tuple (sampled_rate, masked_seq_len), e.g. (0.2, 2), "
                f"but got {masking_value!r}."
            )
        rate = _as_ratio(masking_value[0], "TimeBlockMask sampled_rate")
        length = masking_value[1]
        if isinstance(length, (bool, np.bool_)) or not isinstance(length, (numbers.Integral, np.integer)):
            raise MaskingTypeError(
                "TimeBlockMask masked_seq_len should be an integer greater than 0, but got "
                f"{length!r} of type {type(length).__name__}."
            )
        if length < 1:
            raise MaskingValueError(
                f"TimeBlockMask masked_seq_len should be an integer greater than 0, but got {length}."
            )
        return rate, int(length)

    @property
    def sampled_rate(self) -> float:
        """Fraction of time steps that start a masked span."""
        return self._params[0]

    @property
    def masked_seq_len(self) -> int:
        """Length of each masked span."""
        return self._params[1]

    def _select_masking_params(self) -> Tuple[float, int]:
        """The ``(sampled_rate, masked_seq_len)`` pair (fixed, as in ``cebra.data``)."""
        return self._params

    def keep(self, batch_size: int, num_neurons: int, num_timesteps: int) -> torch.Tensor:
        rate, length = self._select_masking_params()
        num_starts = _block_count(num_timesteps, rate)
        if num_starts == 0:
            return torch.ones(1, 1, 1, dtype=torch.bool)
        # ``num_starts`` distinct positions per row: the first entries of a random permutation.
        order = torch.rand(batch_size, num_timesteps, generator=self._generator).argsort(dim=1)
        starts = torch.zeros(batch_size, num_timesteps, dtype=torch.int32)
        starts.scatter_(1, order[:, :num_starts], 1)
        # Step t is covered when a span starts in (t - length, t]: a windowed sum of ``starts``.
        running = starts.cumsum(dim=1)
        before = torch.zeros_like(running)
        if length < num_timesteps:
            before[:, length:] = running[:, :-length]
        covered = (running - before) > 0
        return ~covered[:, None, :]


#: Mask name (as used in :meth:`MaskedMixin.set_masks`) -> mask class.
MASKS: Dict[str, Type[Mask]] = {
    cls.__name__: cls
    for cls in (RandomNeuronMask, RandomTimestepMask, NeuronBlockMask, TimeBlockMask)
}


class MaskedMixin:
    """Adds masking augmentation to a dataset (every :class:`cebra_data.Dataset` has it).

    Masks are off by default. :meth:`set_masks` configures them; the dataset's
    ``load_batch`` then calls :meth:`apply_mask` on the gathered windows, which
    picks one configured mask at random per batch and zeroes what it masks.

    Example:
        >>> import torch
        >>> from cebra_data import TensorDataset
        >>> ds = TensorDataset(torch.ones(50, 8), continuous=torch.zeros(50, 1))
        >>> windows = ds[torch.arange(10)]
        >>> ds.apply_mask(windows) is windows  # no masks: untouched, no copy
        True
        >>> ds.set_masks({"NeuronBlockMask": 0.25}, seed=1)
        >>> ds.masks
        (NeuronBlockMask(0.25),)
        >>> (ds.apply_mask(windows) == 0).sum().item()  # 2 of 8 neurons in each of 10 windows
        20
        >>> ds.clear_masks()
        >>> ds.masks
        ()
    """

    _mask_tuple: ClassVar[Tuple[Mask, ...]] = ()
    _mask_generator: ClassVar[Optional[torch.Generator]] = None

    @property
    def masks(self) -> Tuple[Mask, ...]:
        """The configured masks, in the order :meth:`set_masks` added them."""
        return self._mask_tuple

    @property
    def _masks(self) -> list:
        """``cebra.data``'s name: the configured masks as a new list (read-only; use :meth:`set_masks`)."""
        return list(self._mask_tuple)

    def set_masks(self, masking: Optional[Mapping[str, Any]] = None, *, seed: Any = None) -> None:
        """Configure masks by name.

        Each entry adds a mask, replacing a configured mask of the same name;
        masks of other names stay. All entries are checked before anything
        changes.

        Args:
            masking: mask name -> masking value, e.g. ``{"RandomNeuronMask": 0.3,
                "TimeBlockMask": (0.2, 2)}`` (names in :data:`MASKS`, values as in
                :mod:`cebra_data.masking`). ``None`` changes nothing.
            seed: seed of the generator that picks a mask for each batch and
                seeds the new masks. ``None`` keeps the generator of an earlier
                call (so one seed fixes every later call), or draws fresh
                operating-system entropy on the first call.

        Raises:
            cebra_data.errors.UnknownChoiceError: for an unknown mask name (the
                message lists the valid ones).
            TypeError: if ``masking`` is not a mapping or a value has the wrong type.
            ValueError: if a value is out of range.
        """
        if masking is None:
            return
        if not isinstance(masking, Mapping):
            raise TypeError(
                'masking should be a dict of mask name -> value, e.g. {"RandomNeuronMask": 0.3}, '
                f"but got {type(masking).__name__}."
            )
        for name in masking:
            if name not in MASKS:
                raise UnknownChoiceError("mask", name, MASKS)
        for name, value in masking.items():
            MASKS[name]._check_masking_parameters(value)
        if seed is not None or self._mask_generator is None:
            generator = as_generator(seed)
        else:
            generator = self._mask_generator
        masks = {type(mask).__name__: mask for mask in self._mask_tuple}
        for name, value in masking.items():
            masks.pop(name, None)
            masks[name] = MASKS[name](value, seed=derive_seed(generator))
        self._mask_generator = generator
        self._mask_tuple = tuple(masks.values())

    def clear_masks(self) -> None:
        """Remove every mask; :meth:`apply_mask` then returns its input unchanged."""
        self._mask_tuple = ()

    def apply_mask(self, data: torch.Tensor, chunk_size: int = 1000) -> torch.Tensor:
        """Mask a batch of windows with one of the configured masks.

        Args:
            data: windows ``(batch, neurons, time)``, or one window
                ``(neurons, time)``; a floating-point tensor.
            chunk_size: kept for compatibility with ``cebra.data``; it has no
                effect because the mask broadcasts instead of being expanded.

        Returns:
            ``data`` itself when no mask is configured. Otherwise a new tensor of
            ``data``'s shape whose masked entries are multiplied by zero (as in
            ``cebra.data``); ``data`` is not modified.

        Raises:
            TypeError: if ``data`` is not a floating-point tensor.
            ValueError: if ``data`` is not 2-D or 3-D.
        """
        masks = self._mask_tuple
        if not masks:
            return data
        check_positive_int(chunk_size, "chunk_size")
        single = isinstance(data, torch.Tensor) and data.ndim == 2
        windows = _check_windows(data[None] if single else data)
        if len(masks) == 1:
            mask = masks[0]
        else:
            mask = masks[int(torch.randint(0, len(masks), (1,), generator=self._mask_generator))]
        # Multiplying by a broadcast 0/1 factor is several times faster than masked_fill.
        keep = mask.keep(*windows.shape).to(device=windows.device, dtype=windows.dtype)
        masked = windows * keep
        return masked[0] if single else masked
