"""Argument checks of the demo: one value in, the value out, or a clear error.

The demo sits above the data layer and uses only its public API, so it keeps
its own two small checks instead of the package's internal validators. The
messages have the package's shape: what was expected, what was received.

Example:
    >>> from cebra_data.demo.checks import check_int
    >>> check_int(3, "steps", minimum=1)
    3
    >>> check_int(0, "steps", minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: steps should be an integer >= 1, but got steps=0.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Optional

import numpy as np

__all__ = ["check_int", "check_float"]


def _is_boolean(value: Any) -> bool:
    """Whether ``value`` is a boolean (Python, NumPy or a boolean tensor)."""
    dtype = str(getattr(value, "dtype", ""))
    return isinstance(value, (bool, np.bool_)) or dtype in ("bool", "torch.bool")


def check_int(value: Any, name: str, *, minimum: Optional[int] = None) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``.

    Integer-like values (NumPy integers, zero-dimensional integer tensors) are
    accepted; booleans and floats are not (``True`` is not a step count).

    Args:
        value: the value to check.
        name: its name in the error message.
        minimum: the smallest allowed value, or ``None`` for no bound.

    Returns:
        ``value`` as a Python ``int``.

    Raises:
        TypeError: if ``value`` is not an integer.
        ValueError: if ``value`` is below ``minimum``.
    """
    number = None
    if not _is_boolean(value):
        try:
            number = operator.index(value)
        except TypeError:
            pass
    if number is None:
        raise TypeError(
            f"{name} should be an integer, but got {name}={value!r} of type {type(value).__name__}."
        )
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} should be an integer >= {minimum}, but got {name}={number}.")
    return number


def check_float(value: Any, name: str, *, strictly_positive: bool = False) -> float:
    """Return ``value`` as a finite ``float``, ``> 0`` if ``strictly_positive``.

    Args:
        value: the value to check (any real number but a boolean).
        name: its name in the error message.
        strictly_positive: reject zero and negative values.

    Returns:
        ``value`` as a Python ``float``.

    Raises:
        TypeError: if ``value`` is not a real number.
        ValueError: if ``value`` is not finite, or not positive when required.
    """
    if _is_boolean(value) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} should be a real number, but got {name}={value!r} of type "
            f"{type(value).__name__}."
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} should be finite, but got {name}={number}.")
    if strictly_positive and number <= 0:
        raise ValueError(f"{name} should be > 0, but got {name}={number}.")
    return number
