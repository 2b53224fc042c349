"""Small ``check_*`` helpers shared by the whole package.

Each helper validates one value and returns it (possibly converted), raising
``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a
message of one shape: what was expected, what was received.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np
import pandas as pd
import torch

from cebra_data.errors import (
    MethodologyWarning,
    PrecisionWarning,
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
    "check_time_offset_for",
    "stacklevel_outside_package",
    "as_tensor",
    "check_nonempty",
    "check_neural",
    "check_continuous",
    "check_discrete",
    "check_trial_ids",
    "encode_categories",
    "as_array_like",
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
    """Return ``value`` if it is one of ``choices``, else list the valid ones.

    Only a string can be a choice: any other value (``None``, a number, an
    array) is refused without comparing it to the choices.
    """
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
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


def _pandas_values(value: Any, name: str) -> np.ndarray:
    """The values of a pandas ``DataFrame``, ``Series`` or ``Index`` as numpy would give them.

    Nullable extension dtypes (``Int64``, ``Float64``, ``boolean``) become
    their numpy dtype, or float64 with NaN where a value is missing.

    Raises:
        TypeError: naming the columns that do not hold numbers.
    """
    if isinstance(value, pd.Index):
        value = value.to_series()
    frame = value if isinstance(value, pd.DataFrame) else value.to_frame()
    bad = {str(column): str(dtype) for column, dtype in frame.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))}
    if bad:
        if isinstance(value, pd.DataFrame):
            where = "column(s) " + ", ".join(f"{c!r} ({d})" for c, d in list(bad.items())[:5])
        else:
            where = f"values of dtype {next(iter(bad.values()))}"
        raise TypeError(
            f"{name} should hold numbers, but the {type(value).__name__} has {where}. Convert "
            "them to numbers first (text and categorical values are accepted as discrete labels "
            "only)."
        )
    dtypes = list(frame.dtypes)
    if any(isinstance(dtype, pd.api.extensions.ExtensionDtype) for dtype in dtypes):
        if bool(frame.isna().to_numpy().any()):
            return value.to_numpy(dtype=np.float64, na_value=np.nan)
        return value.to_numpy(dtype=np.result_type(*[getattr(d, "numpy_dtype", d) for d in dtypes]))
    return value.to_numpy()


def as_array_like(value: Any, name: str) -> Any:
    """``value`` unchanged if it is a numpy array or tensor; else its values as a numpy array.

    pandas objects give the values ``DataFrame.to_numpy()`` gives (their index
    is not used); anything else with ``__array__`` (xarray, h5py, array-API
    objects) goes through ``numpy.asarray``. Other values (lists, scalars, ...)
    are returned as they are, for the caller to refuse.
    """
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value
    if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
        return _pandas_values(value, name)
    if hasattr(value, "__array__"):
        return np.asarray(value)
    return value


def as_tensor(value: Any, name: str) -> torch.Tensor:
    """A tensor view of a numpy array, tensor or array-like, sharing memory where possible.

    Read-only arrays are shared as well: cebra_data never writes into user
    data. Non-native byte orders are converted. pandas objects and other
    array-likes are read through :func:`as_array_like`.

    Raises:
        TypeError: for anything but numeric numbers in an array, tensor or array-like.
    """
    value = as_array_like(value, name)
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
        f"{name} should be a numpy array, a torch.Tensor or an array-like such as a pandas "
        f"DataFrame or Series, but got {type(value).__name__}."
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
                    PrecisionWarning,
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


#: A conversion is taken to change a column's meaning when its rounding error
#: exceeds this fraction of the column's range (fewer than 2**16 steps of the
#: new dtype across the values, e.g. absolute time stamps in float32) ...
MERGE_RANGE_FRACTION = 2.0**-16
#: ... or this fraction of the typical change between consecutive samples
#: (the median of the non-zero ones), which the rounding would blur.
MERGE_STEP_FRACTION = 0.1


def _merge_changes_meaning(original: torch.Tensor, converted: torch.Tensor) -> bool:
    """Whether rounding ``original`` (one column) to ``converted`` changes what the values say.

    It does for integer-valued columns (codes, frame numbers: two integers
    become one), and for columns whose rounding error is large against their
    range or against their typical step. Ordinary continuous behaviour keeps
    its meaning even where two values a few float32 steps apart merge.
    """
    finite = torch.isfinite(original)
    if not bool(finite.all()):
        original, converted = original[finite], converted[finite]
    if original.numel() < 2:
        return False
    error = float((converted.to(original.dtype) - original).abs().max())
    if error == 0:
        return False  # the conversion is exact: nothing can merge
    if bool((original == original.round()).all()):
        return True
    spread = float(original.max() - original.min())
    if error > MERGE_RANGE_FRACTION * spread:
        return True
    steps = (original[1:] - original[:-1]).abs()
    steps = steps[steps > 0]
    return steps.numel() > 0 and error > MERGE_STEP_FRACTION * float(steps.median())


def _warn_if_values_merge(original: torch.Tensor, converted: torch.Tensor, name: str) -> None:
    """Warn when a float conversion merges distinct values in a way that changes their meaning.

    Fires for integer-valued labels that float32 cannot keep apart (beyond
    ``2**24``) and for values whose rounding is large against their range or
    their step between samples (e.g. absolute Unix time stamps: 200 of them one
    second apart are 3 distinct float32 values). Never for ordinary continuous
    behaviour, where float32's 7 significant digits merge at most values
    closer than the measurement's own precision (CEBRA stores it in float32 too).
    """
    if not original.is_floating_point() or original.numel() == 0:
        return
    if torch.finfo(converted.dtype).eps <= torch.finfo(original.dtype).eps:
        return
    for column in range(original.shape[1]):
        before_values, after_values = original[:, column], converted[:, column]
        if not _merge_changes_meaning(before_values, after_values):
            continue
        before = torch.unique(before_values).numel()
        after = torch.unique(after_values).numel()
        if after < before:
            warnings.warn(
                f"{name} column {column}: converting {original.dtype} to {converted.dtype} "
                f"merges {before} distinct values into {after}: {converted.dtype} cannot keep "
                "these values apart (e.g. absolute time stamps, or integer codes beyond 2**24). "
                "Subtract an offset first (e.g. time - time[0]) or use smaller codes.",
                PrecisionWarning,
                stacklevel=4,
            )
            return


def _exact_integers(dtype: torch.dtype) -> int:
    """The largest integer up to which ``dtype`` represents every integer exactly (``2**24`` for float32)."""
    return int(2 / torch.finfo(dtype).eps)


def _warn_if_integers_round(original: torch.Tensor, converted: torch.Tensor, name: str, largest: int) -> None:
    """Warn if converting integer labels ``original`` to the float ``converted`` changed any value.

    The comparison is exact (in int64), so the message counts the rounded
    values and, for the first column where it happens, the distinct values
    that merged.
    """
    back = converted.to(torch.float64)
    outside = (back >= 2.0**63) | (back < -(2.0**63))  # rounded up beyond int64: changed
    changed = outside | (back.masked_fill(outside, 0).to(torch.int64) != original.to(torch.int64))
    num_changed = int(changed.sum())
    if not num_changed:
        return
    merge = ""
    for column in range(original.shape[1]):
        before = torch.unique(original[:, column]).numel()
        after = torch.unique(converted[:, column]).numel()
        if after < before:
            merge = f" and merges {before} distinct values into {after} (column {column})"
            break
    bits = _exact_integers(converted.dtype).bit_length() - 1
    warnings.warn(
        f"{name} has integer values up to {largest}, beyond 2**{bits}: converting {original.dtype} "
        f"to {converted.dtype} rounds {num_changed} of them{merge}. Subtract an offset first "
        "(e.g. frame - frame[0]) or use smaller codes.",
        PrecisionWarning,
        stacklevel=4,
    )


def check_continuous(
    values: Any,
    name: str = "continuous",
    *,
    dtype: Optional[torch.dtype] = None,
    finite_or_nan: bool = False,
) -> torch.Tensor:
    """Return a continuous index as a floating point ``(N, d)`` tensor (a 1-D input becomes ``(N, 1)``).

    The one check of continuous labels, used by datasets and distributions.
    Integer labels (e.g. frame numbers) are converted straight to ``dtype``;
    without ``dtype`` they become float32 while float32 holds them exactly,
    float64 beyond ``2**24``. A
    :class:`~cebra_data.errors.PrecisionWarning` naming the integer dtype is
    raised if the conversion rounds any value (beyond ``2**24`` for float32,
    ``2**53`` for float64).

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
    if isinstance(values, (pd.Series, pd.Index, pd.DataFrame)):
        # a nullable boolean column with pd.NA would arrive as float64; refuse it as any boolean
        dtypes = list(values.dtypes) if isinstance(values, pd.DataFrame) else [values.dtype]
        flags = sorted({str(dtype) for dtype in dtypes if pd.api.types.is_bool_dtype(dtype)})
        if flags:
            raise TypeError(
                f"{name} should hold real numbers (a floating point dtype, or integers), but got a "
                f"pandas column of dtype {', '.join(flags)}."
            )
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
        # straight to the target dtype: a detour through float64 would round twice
        largest = 0 if tensor.numel() == 0 else max(int(tensor.max()), -int(tensor.min()))
        target = dtype if dtype is not None else (
            torch.float32 if largest <= FLOAT32_EXACT else torch.float64)
        converted = tensor.to(target)
        if largest > _exact_integers(target):
            _warn_if_integers_round(tensor, converted, name, largest)
        tensor = converted
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
        ValueError: for missing labels (``pd.NA``) in a pandas column of a
            nullable dtype (``Int64``, ``boolean``).
        TypeError: for float, complex or non-numeric labels (the message
            counts NaN values, which are missing labels).
    """
    if isinstance(discrete, (pd.Series, pd.Index, pd.DataFrame)):
        # a nullable Int64/boolean column would arrive as float64 with NaN for pd.NA
        dtypes = list(discrete.dtypes) if isinstance(discrete, pd.DataFrame) else [discrete.dtype]
        if any(isinstance(dtype, pd.api.extensions.ExtensionDtype) for dtype in dtypes):
            missing = int(np.asarray(discrete.isna()).sum())
            if missing:
                kinds = ", ".join(sorted({str(dtype) for dtype in dtypes}))
                raise _missing_labels_error(name, missing, f"pd.NA in a pandas column of dtype {kinds}")
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
        num_nan = int(torch.isnan(tensor).sum())
        gaps = (f" It also has {num_nan} NaN values, missing labels that a discrete index cannot "
                "hold: fill or remove those time steps first." if num_nan else "")
        raise TypeError(
            f"{name} should hold integer labels, but got dtype {tensor.dtype}. Convert "
            "integer-valued labels with labels.astype(int) (numpy) or labels.long() (torch); "
            f"pass real-valued labels as continuous instead.{gaps}"
        )
    if tensor.dtype != torch.long:
        tensor = tensor.to(torch.long)
    return tensor


def _missing_labels_error(name: str, count: int, where: str) -> ValueError:
    """The error for labels with gaps: a discrete index needs a label at every time step."""
    return ValueError(
        f"{name} has {count} missing labels ({where}); a discrete index needs a label at every "
        "time step."
    )


def encode_categories(labels: Any, name: str = "discrete") -> Tuple[Any, Optional[Tuple[Any, ...]]]:
    """Text and categorical labels as integer codes, and the label of each code.

    Numeric and boolean labels are returned unchanged with ``None``. Text
    labels (a numpy array of strings or Python objects, a pandas ``Series``
    of strings or objects) get the codes ``0 .. K - 1`` of their distinct
    values in sorted order; a pandas ``Categorical`` (or categorical
    ``Series``) keeps its own codes and category order. Equal labels get equal
    codes, and ``categories[code]`` is the label of a code.

    Returns:
        ``(codes, categories)``: an int64 numpy array and a tuple, or
        ``(labels, None)`` for labels that are already numbers.

    Raises:
        ValueError: for missing labels (``None``, NaN, pandas' ``NA``), which a
            discrete index cannot hold.
        TypeError: for labels of mixed kinds that cannot be ordered (e.g.
            strings and numbers).

    Example:
        >>> import pandas as pd
        >>> codes, categories = encode_categories(pd.Series(["left", "right", "left"]))
        >>> codes.tolist(), categories
        ([0, 1, 0], ('left', 'right'))
    """
    if isinstance(labels, pd.DataFrame) and labels.shape[1] == 1:
        labels = labels.iloc[:, 0]
    if isinstance(labels, (pd.Series, pd.Index)) and isinstance(labels.dtype, pd.CategoricalDtype):
        labels = labels.array
    if isinstance(labels, pd.Categorical):
        codes = np.asarray(labels.codes, dtype=np.int64)
        if codes.size and int(codes.min()) < 0:
            raise _missing_labels_error(name, int((codes < 0).sum()), "NaN in the categorical")
        return codes, tuple(labels.categories.tolist())
    if isinstance(labels, (pd.Series, pd.Index)):
        if pd.api.types.is_numeric_dtype(labels.dtype) or pd.api.types.is_bool_dtype(labels.dtype):
            return labels, None
        values = labels.to_numpy(dtype=object, na_value=None)
    elif isinstance(labels, np.ndarray) and labels.dtype.kind in "USO":
        values = labels
    else:
        return labels, None
    if values.dtype.kind == "O":
        missing = int(sum(v is None or v is pd.NA or (isinstance(v, float) and v != v)
                          for v in values.reshape(-1)))
        if missing:
            raise _missing_labels_error(name, missing, "None or NaN")
    try:
        categories, codes = np.unique(values, return_inverse=True)
    except TypeError as err:
        kinds = sorted({type(v).__name__ for v in values.reshape(-1)})
        raise TypeError(
            f"{name} mixes labels of kinds {', '.join(kinds)}, which cannot be ordered into "
            "codes; convert them to one kind (e.g. all strings) first."
        ) from err
    return codes.astype(np.int64).reshape(values.shape), tuple(categories.tolist())


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


def check_time_offset_for(conditional: str, time_offset: int) -> None:
    """Refuse or flag a ``time_offset`` of 0 for the conditionals that use the lag.

    ``"time_delta"`` with 0 would search for the behaviour plus a change over 0 steps, which
    is always 0: an error (CEBRA fails there too, with a raw error). ``"time"`` with 0 gives
    every reference itself as its positive, which CEBRA accepts: a
    :class:`~cebra_data.errors.MethodologyWarning`.

    Raises:
        ValueError: for ``"time_delta"`` with ``time_offset=0``.
    """
    if time_offset != 0:
        return
    if conditional == "time_delta":
        raise ValueError(
            "time_offset=0 with conditional='time_delta': the behaviour changes over 0 time "
            "steps are all zero, so every positive would be its reference. Pass time_offset >= 1."
        )
    if conditional == "time":
        warnings.warn(
            "time_offset=0 with conditional='time': every positive is its own reference, so "
            "the contrastive loss has nothing to learn from the positives. Pass time_offset >= 1 "
            "(CEBRA's default is 10; the model's receptive field is a common choice).",
            MethodologyWarning,
            stacklevel=stacklevel_outside_package(),
        )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def stacklevel_outside_package() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside cebra_data.

    Call it in the function that calls ``warnings.warn``. Frames of cebra_data's modules and
    of code generated at run time (a dataclass's ``__init__``) are skipped, so the warning
    names the user's line however deep inside the package it was raised.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith(_PACKAGE_DIR)
                                 or frame.f_code.co_filename == "<string>"):
        frame, level = frame.f_back, level + 1
    return level
