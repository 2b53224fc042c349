"""Small ``check_*`` helpers shared by the whole package.

Each helper validates one value and returns it (possibly converted), raising
``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a
message of one shape: what was expected, what was received.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np
import torch

from cebra_data.errors import (
    ShapeError,
    UnknownChoiceError,
)

__all__ = [
    "check_int",
    "check_positive_int",
    "check_nonnegative_int",
    "check_float",
    "check_choice",
    "check_consistent_length",
    "as_tensor",
    "check_nonempty",
    "check_neural",
    "check_continuous",
    "check_discrete",
    "check_trial_ids",
    "NEURAL_NAN_POLICIES",
    "FLOAT32_EXACT",
]


def check_int(value: Any, name: str, *, minimum: Optional[int] = None) -> int:
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``.

    Booleans are rejected: ``True`` is not a batch size.
    """
    if type(value) is int and (minimum is None or value >= minimum):
        return value  # the common case, on every draw: no further checks needed
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
        if value.dtype in _WIDE_UNSIGNED:  # torch's uint16/32/64 lack most operations
            value = value.to(torch.int64) if value.dtype != torch.uint64 else value.to(torch.float64)
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} should be a numeric array, but got an array of dtype {value.dtype}."
            )
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        if value.dtype.kind == "u" and value.dtype.itemsize > 1:
            # values unchanged: uint16/uint32 fit int64 exactly; uint64 only up to 2**63
            if value.dtype.itemsize == 8 and value.size and int(value.max()) >= 2**63:
                raise ValueError(
                    f"{name} has uint64 values up to {int(value.max())}, beyond what a signed "
                    "64-bit integer holds; convert it to float64 or smaller values first."
                )
            value = value.astype(np.int64)
        if any(stride < 0 for stride in value.strides):
            value = np.ascontiguousarray(value)  # torch cannot view negative strides (a copy)
        if not value.flags.writeable:
            # torch warns about read-only arrays; sharing them is safe here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return torch.from_numpy(value)
        return torch.from_numpy(value)
    raise TypeError(
        f"{name} should be a numpy array or a torch.Tensor, but got {type(value).__name__}."
    )


_WIDE_UNSIGNED = tuple(
    getattr(torch, name) for name in ("uint16", "uint32", "uint64") if hasattr(torch, name)
)

#: Largest integer that float32 represents exactly; beyond it converting
#: integer data to float32 changes values.
FLOAT32_EXACT = 2**24

#: Largest finite float32.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def check_nonempty(tensor: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``tensor`` if it holds at least one element, else raise ``ValueError``."""
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(tensor.shape)}); it needs at least one sample.")
    return tensor


#: Values of ``TensorDataset(neural_nan=...)``.
NEURAL_NAN_POLICIES = ("raise", "mask")


#: Elements per block of the whole-array checks of :func:`check_neural`: the
#: temporaries of a check stay below a few tens of MB for any recording.
CHECK_BLOCK_ELEMENTS = 2**22


def _row_blocks(tensor: torch.Tensor) -> Iterator[Tuple[int, torch.Tensor]]:
    """``(first row, block)`` over consecutive row blocks of about :data:`CHECK_BLOCK_ELEMENTS` elements."""
    rows = max(1, CHECK_BLOCK_ELEMENTS // max(1, int(tensor.shape[1])))
    for start in range(0, int(tensor.shape[0]), rows):
        yield start, tensor[start : start + rows]


def check_neural(neural: Any, neural_nan: str = "raise") -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The validated float32 signal ``(N, D)`` and, for ``neural_nan="mask"``, the ``(N,)`` mask of NaN rows.

    The whole-array checks run over blocks of rows, so their temporaries stay
    small (a memory-mapped recording is read once, never copied). A float32
    array without NaN is shared, not copied.

    Raises:
        TypeError: for a non-numeric or complex array.
        ValueError: for a shape other than ``(N, D)``, an empty array, or
            non-finite values (NaN allowed with ``neural_nan="mask"``).
    """
    tensor = as_tensor(neural, "neural")
    if tensor.ndim != 2:
        hint = (
            " Reshape your data using array.reshape(-1, 1) if it has a single feature."
            if tensor.ndim == 1
            else ""
        )
        raise ValueError(
            f"neural should be a 2-D array of shape (time steps, features), but got a "
            f"{tensor.ndim}-D array of shape {tuple(tensor.shape)}.{hint}"
        )
    check_nonempty(tensor, "neural")
    if tensor.is_complex():
        raise TypeError(f"neural should be real-valued, but got dtype {tensor.dtype}.")
    if not tensor.is_floating_point():
        # Integer (e.g. spike counts) and boolean data are converted to float32.
        if tensor.dtype != torch.bool:
            largest = max(int(block.abs().max()) for _, block in _row_blocks(tensor))
            if largest > FLOAT32_EXACT:
                warnings.warn(
                    f"neural has integer values up to {largest}, beyond 2**24: converting "
                    f"{tensor.dtype} to float32 rounds them.",
                    UserWarning,
                    stacklevel=4,
                )
        tensor = tensor.to(torch.float32)
    elif tensor.dtype != torch.float32:
        largest = max(float(torch.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0).abs().max())
                      for _, block in _row_blocks(tensor))
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"neural has finite values up to {largest:.6g}, beyond float32's largest "
                f"({FLOAT32_MAX:.6g}): converting {tensor.dtype} to float32 would make them "
                "infinite. Rescale the data first."
            )
        tensor = tensor.to(torch.float32)
    if all(bool(torch.isfinite(block).all()) for _, block in _row_blocks(tensor)):
        return tensor, None
    num_nan = num_inf = 0
    first: Optional[Tuple[int, int]] = None
    nan_rows = torch.zeros(tensor.shape[0], dtype=torch.bool, device=tensor.device)
    for start, block in _row_blocks(tensor):
        nan = torch.isnan(block)
        num_nan += int(nan.sum())
        num_inf += int(torch.isinf(block).sum())
        nan_rows[start : start + block.shape[0]] = nan.any(dim=1)
        if first is None:
            bad = (~torch.isfinite(block)).nonzero()
            if bad.numel():
                first = (start + int(bad[0, 0]), int(bad[0, 1]))
    if neural_nan == "mask" and num_inf == 0:
        # A new tensor: the caller's array is never written to.
        return torch.nan_to_num(tensor, nan=0.0), nan_rows
    row, col = first
    if num_inf:
        fix = "impute or remove them (neural_nan='mask' masks NaN, never infinite values)."
    else:
        fix = ("impute or remove these samples, or pass neural_nan='mask' to exclude every "
               "window that touches them from sampling.")
    raise ValueError(
        f"neural contains {num_nan} NaN and {num_inf} infinite values (first at time step "
        f"{row}, feature {col}). Neural data must be finite: {fix}"
    )


def _warn_if_values_merge(original: torch.Tensor, converted: torch.Tensor, name: str) -> None:
    """Warn when a float conversion makes distinct values of a column equal (lost precision).

    Example: 200 Unix timestamps one second apart are 3 distinct float32 values.
    """
    if not original.is_floating_point() or original.numel() == 0:
        return
    if torch.finfo(converted.dtype).eps <= torch.finfo(original.dtype).eps:
        return
    for column in range(original.shape[1]):
        before = torch.unique(original[:, column]).numel()
        after = torch.unique(converted[:, column]).numel()
        if after < before:
            warnings.warn(
                f"{name} column {column}: converting {original.dtype} to {converted.dtype} "
                f"merges {before} distinct values into {after} (the values are too large for "
                f"{converted.dtype}'s precision, e.g. absolute timestamps). Subtract an offset "
                "first (e.g. time - time[0]) to keep them distinct.",
                UserWarning,
                stacklevel=4,
            )
            return


def check_continuous(
    values: Any,
    name: str = "continuous",
    *,
    dtype: Optional[torch.dtype] = None,
    finite_or_nan: bool = False,
) -> torch.Tensor:
    """Return a continuous index as a floating point ``(N, d)`` tensor (a 1-D input becomes ``(N, 1)``).

    The one check of continuous labels, used by datasets and distributions.
    Integer labels (e.g. frame numbers) are accepted with their values
    unchanged: they become float32 while float32 holds them exactly, float64
    beyond ``2**24``.

    Args:
        values: a numpy array or tensor.
        name: the argument's name, for messages.
        dtype: convert to this floating point dtype (``None`` keeps the float dtype).
        finite_or_nan: refuse infinite values (NaN still marks a missing label).

    Raises:
        TypeError: for a non-numeric, boolean or complex array.
        ValueError: for a shape other than ``(N,)`` or ``(N, d)`` with ``d >= 1``,
            or an infinite value with ``finite_or_nan=True``.
    """
    tensor = as_tensor(values, name)
    if tensor.ndim == 1:
        tensor = tensor[:, None]
    if tensor.ndim != 2 or tensor.shape[1] == 0:
        raise ValueError(
            f"{name} should be a 1-D array (time steps,) or a 2-D array (time steps, "
            f"dimensions) with d >= 1, but got a {tensor.ndim}-D array of shape "
            f"{tuple(tensor.shape)}."
        )
    if tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(
            f"{name} should hold real numbers (a floating point dtype, or integers), but got "
            f"dtype {tensor.dtype}."
        )
    if not tensor.is_floating_point():
        exact = tensor.numel() == 0 or int(tensor.abs().max()) <= FLOAT32_EXACT
        tensor = tensor.to(torch.float32 if exact else torch.float64)
    if dtype is not None and tensor.dtype != dtype:
        converted = tensor.to(dtype)
        _warn_if_values_merge(tensor, converted, name)
        tensor = converted
    if finite_or_nan:
        num_inf = int(torch.isinf(tensor).sum())
        if num_inf:
            raise ValueError(
                f"{name} contains {num_inf} infinite values; labels must be finite "
                "(missing values may be NaN, which excludes those time steps from sampling)."
            )
    return tensor


def check_discrete(discrete: Any, name: str = "discrete") -> torch.Tensor:
    """Return integer labels as a 1-D long tensor (an ``(N, 1)`` input is flattened).

    Raises:
        ShapeError: (a ``ValueError`` and a ``TypeError``, as CEBRA raised) for
            another shape.
        TypeError: for float, complex or non-numeric labels.
    """
    tensor = as_tensor(discrete, name)
    if tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.ndim != 1:
        raise ShapeError(
            f"{name} should be a 1-D array of integer labels (time steps,), but got a "
            f"{tensor.ndim}-D array of shape {tuple(tensor.shape)}."
        )
    check_nonempty(tensor, name)
    if tensor.is_floating_point() or tensor.is_complex():
        raise TypeError(
            f"{name} should hold integer labels, but got dtype {tensor.dtype}. Convert "
            "integer-valued labels with labels.astype(int) (numpy) or labels.long() (torch); "
            "pass real-valued labels as continuous instead."
        )
    if tensor.dtype != torch.long:
        tensor = tensor.to(torch.long)
    return tensor


def check_trial_ids(trial_ids: Any, n: int) -> torch.Tensor:
    """Return per-sample trial ids ``(n,)`` as a long tensor, each trial one contiguous block.

    Raises:
        ValueError: for a wrong length or a trial split into several blocks.
    """
    if isinstance(trial_ids, (list, tuple)):
        trial_ids = np.asarray(trial_ids)
    tensor = check_discrete(trial_ids, "trial_ids")
    if tensor.numel() != n:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"neural={n}, trial_ids={tensor.numel()}."
        )
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = tensor[1:] != tensor[:-1]
    block_ids = tensor[starts]
    if block_ids.unique().numel() != block_ids.numel():
        counts = torch.bincount(torch.unique(block_ids, return_inverse=True)[1])
        repeated = block_ids.unique()[counts > 1][:5].tolist()
        raise ValueError(
            "trial_ids should mark each trial as one contiguous block of time steps, but "
            f"trial(s) {repeated} appear in several separate blocks."
        )
    return tensor
