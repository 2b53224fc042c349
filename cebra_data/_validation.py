"""Small ``check_*`` helpers shared by the whole package.

Each helper validates one value and returns it (possibly converted), raising
``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a
message of one shape: what was expected, what was received.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Iterable, Optional

import numpy as np
import torch

from cebra_data.errors import UnknownChoiceError

__all__ = [
    "check_int",
    "check_positive_int",
    "check_nonnegative_int",
    "check_float",
    "check_choice",
    "check_consistent_length",
    "as_tensor",
]


def check_int(value: Any, name: str, *, minimum: Optional[int] = None) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``.

    Booleans are rejected: ``True`` is not a batch size.
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, torch.Tensor) and value.ndim == 0 and not value.is_floating_point() \
                and value.dtype != torch.bool:
            value = int(value.item())
        else:
            raise TypeError(
                f"{name} should be an integer, but got {name}={value!r} "
                f"of type {type(value).__name__}."
            )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} should be an integer >= {minimum}, but got {name}={value}.")
    return value


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` if it is an integer ``>= 1``."""
    return check_int(value, name, minimum=1)


def check_nonnegative_int(value: Any, name: str) -> int:
    """Return ``value`` if it is an integer ``>= 0``."""
    return check_int(value, name, minimum=0)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: Optional[float] = None,
    strictly_positive: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(
            f"{name} should be a real number, but got {name}={value!r} "
            f"of type {type(value).__name__}."
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} should be finite, but got {name}={value}.")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} should be > 0, but got {name}={value}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} should be >= {minimum}, but got {name}={value}.")
    return value


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else list the valid ones."""
    choices = list(choices)
    if value not in choices:
        raise UnknownChoiceError(name, value, choices)
    return value


def check_consistent_length(**arrays: Any) -> int:
    """Return the common first-axis length of the given arrays (``None`` skipped).

    Raises:
        ValueError: naming every array and its length when they differ.
    """
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"{found}. Every array must have one row per time step."
        )
    return next(iter(lengths.values())) if lengths else 0


def as_tensor(value: Any, name: str) -> torch.Tensor:
    """A tensor view of a numpy array or tensor, sharing memory where possible.

    Read-only arrays are shared as well: cebra_data never writes into user
    data. Non-native byte orders are converted.

    Raises:
        TypeError: for anything but a numeric numpy array or a tensor.
    """
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} should be a numeric array, but got an array of dtype {value.dtype}."
            )
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        if not value.flags.writeable:
            # torch warns about read-only arrays; sharing them is safe here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(value)
        return torch.from_numpy(value)
    raise TypeError(
        f"{name} should be a numpy array or a torch.Tensor, but got {type(value).__name__}."
    )
