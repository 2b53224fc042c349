"""Behaviour on the neural clock: resample labels recorded at their own times (layer L1).

Behaviour filmed at 30 Hz, calcium imaged at 15 Hz, spikes binned at 10 ms: the series of one
session live on different clocks. :func:`align` resamples ``values`` sampled at ``times`` at
``target_times`` (e.g. the neural time stamps), so that label and neural rows match one to one.

Nothing is ever extrapolated. A target is *covered* by a series when it lies inside
``[times[0], times[-1]]`` and, with ``max_gap``, not inside an interval between two consecutive
samples that is longer than ``max_gap`` (see :func:`coverage`). Uncovered targets get NaN, which
:class:`cebra_data.TensorDataset` reads as a missing continuous label (the time step is excluded
from sampling and counted by ``describe()``).

Discrete labels are integers and cannot hold NaN. :func:`align` returns them as a float array,
NaN at uncovered targets (integers up to ``2**53`` are exact in float64); the integer labels are
``out[covered].astype(int)`` with ``covered = ~np.isnan(out)`` (the same mask as
:func:`coverage`). It is up to the caller to exclude the uncovered steps; ``TensorDataset.from_nwb``
does so (see :func:`cebra_data.nwb_dataset.from_nwb`).

Clocks may be floats (seconds) or integers in any unit. Integer clocks beyond ``2**53`` (e.g.
Unix nanoseconds, about ``1.7e18``, which float64 would round to 256 ns) are made relative to
their common first time, in integers, before the arithmetic, so no tick is lost; beside a float
clock they are refused (the float clock is already rounded).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np
import torch

__all__ = ["ALIGN_METHODS", "align", "coverage"]

#: The resampling methods of :func:`align`.
ALIGN_METHODS = ("linear", "nearest", "previous")

_EXACT_INTEGER = 2**53


def _as_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if hasattr(value, "to_numpy") and type(value).__module__.startswith("pandas"):
        value = value.to_numpy()  # a Series, DataFrame or Index
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} should be a numpy array, a torch tensor, a pandas object or a list of "
            f"numbers, but got {type(value).__name__}."
        )
    if value.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} should hold real numbers (bool, integer or float), but got dtype {value.dtype}."
        )
    return value


def _check_clocks(times: Any, target_times: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both clocks as float64, checked; integer clocks beyond 2**53 first made relative.

    float64 holds integers exactly only up to 2**53: integer time stamps such as Unix
    nanoseconds (about 1.7e18) would lose their last bits (256 ns) when cast. Both clocks
    are then shifted, in integers, by their common smallest time before the cast, which
    keeps every difference exact (as long as the clocks span less than 2**53 units).

    Raises:
        ValueError: integer clocks beyond 2**53 beside a float clock (already rounded), or
            integer clocks spanning more than 2**53 units.
    """
    raw = [_as_array(times, "times"), _as_array(target_times, "target_times")]
    large = [a.dtype.kind in "iu" and a.size > 0 and max(abs(int(a.min())), abs(int(a.max())))
             > _EXACT_INTEGER for a in raw]
    origin = 0
    if any(large):
        if not all(a.dtype.kind in "biu" for a in raw):
            which = "times" if large[0] else "target_times"
            raise ValueError(
                f"{which} holds integers beyond 2**53 (e.g. Unix nanoseconds), which float64 "
                "cannot hold exactly, but the other clock holds floats, already rounded: pass "
                "both clocks as integers in the same unit, or both as floats relative to a start."
            )
        origin = min(int(a.min()) for a in raw if a.size)
        shifted = []
        for a in raw:
            relative = np.asarray([int(v) - origin for v in (a.min(), a.max())]) if a.size else [0]
            if max(relative) > _EXACT_INTEGER:
                raise ValueError(
                    f"times and target_times span {max(relative)} units, more than the 2**53 that "
                    "float64 keeps apart; use a coarser unit."
                )
            if a.dtype.kind == "u":
                shifted.append((a - np.uint64(origin)).astype(np.int64))
            else:
                shifted.append(a.astype(np.int64) - np.int64(origin))
        raw = shifted
    return (_check_times(raw[0], "times", increasing=True, origin=origin),
            _check_times(raw[1], "target_times", increasing=False, origin=origin))


def _check_times(times: Any, name: str, *, increasing: bool, origin: int = 0) -> np.ndarray:
    """``times`` as a checked float64 array; ``origin`` (subtracted already) is added back in messages."""
    array = _as_array(times, name)
    if array.ndim != 1:
        raise ValueError(f"{name} should be 1-D (one time per sample), but has shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty; at least one time is needed.")
    if origin:
        exact = array  # integers relative to origin: messages show the caller's values
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} should be finite, but {int(bad.sum())} value(s) are NaN or infinite "
            f"(the first at position {first}: {array[first]})."
        )
    if increasing and array.size > 1:
        steps = np.diff(array)
        if (steps <= 0).any():
            first = int(np.flatnonzero(steps <= 0)[0])
            shown = (lambda i: int(exact[i]) + origin) if origin else (lambda i: array[i])
            raise ValueError(
                f"{name} should be strictly increasing, but {name}[{first + 1}] = "
                f"{shown(first + 1)!r} follows {name}[{first}] = {shown(first)!r}. Sort the "
                "samples by time and drop repeated times first."
            )
    return array


def _check_max_gap(max_gap: Any) -> Optional[float]:
    if max_gap is None:
        return None
    if isinstance(max_gap, bool) or not isinstance(max_gap, numbers.Real) \
            or not math.isfinite(max_gap) or max_gap <= 0:
        raise ValueError(
            f"max_gap should be None or a positive finite number of seconds, but got "
            f"max_gap={max_gap!r}."
        )
    return float(max_gap)


def _covered(times: np.ndarray, targets: np.ndarray, max_gap: Optional[float]) -> np.ndarray:
    """Coverage of checked arrays (see :func:`coverage`)."""
    inside = (targets >= times[0]) & (targets <= times[-1])
    if max_gap is None or times.size < 2:
        return inside
    previous = np.clip(np.searchsorted(times, targets, side="right") - 1, 0, times.size - 2)
    on_sample = targets == times[previous]
    gap = times[previous + 1] - times[previous]
    return inside & (on_sample | (targets == times[-1]) | (gap <= max_gap))


def coverage(times: Any, target_times: Any, *, max_gap: Optional[float] = None) -> np.ndarray:
    """Which ``target_times`` a series sampled at ``times`` covers.

    Args:
        times: ``(n,)`` strictly increasing, finite sample times.
        target_times: ``(m,)`` finite times, in any order.
        max_gap: ``None`` or the longest interval between two consecutive samples that is
            bridged; a target strictly inside a longer interval is not covered (a target on a
            sample always is).

    Returns:
        A boolean ``(m,)`` array, ``True`` where ``times[0] <= t <= times[-1]`` and ``t`` is not
        inside a gap longer than ``max_gap``.

    Raises:
        ValueError: for unsorted, repeated or non-finite times, or a bad ``max_gap``.
        TypeError: for non-numeric input.

    Example:
        >>> from cebra_data.align import coverage
        >>> coverage([1.0, 2.0, 5.0], [0.5, 1.0, 1.5, 3.0, 5.0, 6.0], max_gap=2.0).tolist()
        [False, True, True, False, True, False]
    """
    times, targets = _check_clocks(times, target_times)
    return _covered(times, targets, _check_max_gap(max_gap))


def align(
    values: Any,
    times: Any,
    target_times: Any,
    *,
    method: str = "linear",
    max_gap: Optional[float] = None,
) -> np.ndarray:
    """Resample ``values`` sampled at ``times`` at ``target_times``; NaN where not covered.

    Args:
        values: ``(n,)`` or ``(n, d)`` (or more dimensions; time first) real values, one row per
            time. NaN marks a missing sample: linear interpolation next to it gives NaN, and
            ``"nearest"``/``"previous"`` copy it.
        times: ``(n,)`` strictly increasing, finite sample times (seconds, or integers in any
            unit: see the module's notes on large integer clocks).
        target_times: ``(m,)`` finite times to resample at, in any order (e.g. the neural
            time stamps).
        method: ``"linear"`` (default) interpolates each column linearly between the two
            samples around a target (:func:`numpy.interp`); ``"nearest"`` takes the value of the
            nearest sample (the earlier one on a tie) and ``"previous"`` that of the last sample
            at or before the target, both for discrete labels.
        max_gap: ``None`` (default) or, in the units of ``times``, the longest interval between
            consecutive samples that is bridged; targets strictly inside a longer gap become
            NaN (see :func:`coverage`).

    Returns:
        A float64 array ``(m,)`` or ``(m, d)`` (``values``' trailing shape). Targets outside
        ``[times[0], times[-1]]`` or inside a gap longer than ``max_gap`` are NaN: never
        extrapolated. For integer labels the result holds the labels as floats (exact up to
        ``2**53``); ``~np.isnan(result)`` marks the covered targets.

    Raises:
        ValueError: for ``times`` that are unsorted, repeated or not finite, non-finite
            ``target_times``, ``values`` whose length differs from ``times``, infinite
            values, integer values too large for float64, an unknown ``method`` or a bad
            ``max_gap``.
        TypeError: for non-numeric input.

    Example:
        >>> import numpy as np
        >>> from cebra_data import align
        >>> times = np.array([0.5, 1.0, 1.5, 2.0])
        >>> position = np.array([0.0, 1.0, 3.0, 4.0])
        >>> align(position, times, [0.0, 0.75, 1.25, 2.0, 2.5])
        array([nan, 0.5, 2. , 4. , nan])
        >>> align(np.array([1, 2, 2, 3]), times, [0.75, 1.3, 2.1], method="previous")
        array([ 1.,  2., nan])
    """
    if method not in ALIGN_METHODS:
        raise ValueError(f"method should be one of {list(ALIGN_METHODS)}, but got method={method!r}.")
    times, targets = _check_clocks(times, target_times)
    gap = _check_max_gap(max_gap)
    array = _as_array(values, "values")
    if array.ndim == 0:
        raise ValueError("values should have one row per time (time first), but got a scalar.")
    if array.shape[0] != times.size:
        raise ValueError(
            f"values and times should have the same length (one value row per time), but got "
            f"{array.shape[0]} rows of values and {times.size} times."
        )
    if array.dtype.kind in "iu" and array.size and int(np.abs(array).max()) > _EXACT_INTEGER:
        raise ValueError(
            "values holds integers larger than 2**53 in magnitude, which float64 cannot hold "
            "exactly; map the labels to smaller codes first."
        )
    flat = array.reshape(times.size, -1).astype(np.float64)
    if np.isinf(flat).any():
        raise ValueError("values should be finite or NaN (missing), but holds infinite values.")
    covered = _covered(times, targets, gap)
    out = np.full((targets.size, flat.shape[1]), np.nan)
    inside = targets[covered]
    if method == "linear":
        for column in range(flat.shape[1]):
            out[covered, column] = np.interp(inside, times, flat[:, column])
    else:
        previous = np.searchsorted(times, inside, side="right") - 1
        if method == "nearest":
            following = np.minimum(previous + 1, times.size - 1)
            later = (times[following] - inside) < (inside - times[previous])
            previous = np.where(later, following, previous)
        out[covered] = flat[previous]
    return out.reshape((targets.size,) + array.shape[1:])
