"""Arrays in, loader out: the adapter an estimator (scikit-learn style) builds on.

Two pieces, as in CEBRA's scikit-learn integration
(``cebra.integrations.sklearn``):

* :class:`SklearnDataset` wraps a data matrix ``X`` and a tuple of label
  arrays ``y`` with scikit-learn's input rules and messages.
* :func:`make_loader` picks the loader for the labels a dataset carries and
  the training options, following the decision table of CEBRA's estimator
  (``_init_loader``), and explains which options are possible when a
  combination is not.

The decision table (``batch`` is an integer batch size, ``full`` is
``batch_size=None``; every other combination is an error):

==============  ===========  =====  ======  ====================================  =======================
sessions        labels       batch  hybrid  loader                                conditional
==============  ===========  =====  ======  ====================================  =======================
one             none         batch  no      ContinuousDataLoader                  ``"time"`` (fixed)
one             none         full   no      FullDataLoader                        ``"time"`` (fixed)
one             continuous   batch  no      ContinuousDataLoader                  default ``"time_delta"``
one             continuous   batch  yes     HybridDataLoader                      default ``"time_delta"``
one             continuous   full   no      FullDataLoader                        default ``"time_delta"``
one             discrete     batch  no      DiscreteDataLoader                    --
one             both         batch  no      MixedDataLoader                       default ``"time_delta"``
several         continuous   batch  no      ContinuousMultiSessionDataLoader      default ``"time_delta"``
==============  ===========  =====  ======  ====================================  =======================

Hybrid training and multi-session training need a label (a
``ValueError`` otherwise, as in CEBRA); the remaining combinations are not
implemented (CEBRA raises ``NotImplementedError``). Here every refusal is one
:class:`UnsupportedCombinationError`, which is both a ``ValueError`` and a
``NotImplementedError`` so either handler catches it, and whose message
lists the combinations that *are* possible for the data at hand.

Two deliberate differences from CEBRA: a ``conditional`` given for data
that ignores it (a discrete-only or label-free dataset, where CEBRA silently
drops it) is an error, and boolean labels are a discrete index (CEBRA
silently drops them).

This module is ``cebra_data.sklearn``; it never imports scikit-learn, and the
name does not hide the real ``sklearn`` package (absolute imports).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import check_float, check_int, check_positive_int
from cebra_data.base import Dataset, Loader
from cebra_data.datasets import DatasetCollection, TensorDataset
from cebra_data.device import DeviceLike
from cebra_data.errors import UnsupportedCombinationError
from cebra_data.multi_session import (
    ContinuousMultiSessionDataLoader,
    MultiSessionDataset,
)
from cebra_data.single_session import (
    ContinuousDataLoader,
    DiscreteDataLoader,
    FullDataLoader,
    HybridDataLoader,
    MixedDataLoader,
    SingleSessionDataset,
)

__all__ = [
    "SklearnDataset",
    "make_loader",
    "select_loader",
    "LoaderChoice",
    "UnsupportedCombinationError",
    "LOADER_TABLE",
]


# --------------------------------------------------------------------------- validation


def _as_numpy(value: Any, name: str) -> np.ndarray:
    """A numpy view of an array-like (tensors are moved to the CPU), without copying if possible."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.device.type != "cpu":
            value = value.cpu()
        return value.numpy()
    if value is None:
        raise ValueError(f"{name} cannot be None.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} should be array-like (a numpy array, torch tensor or nested list), "
            f"but got {type(value).__name__}."
        ) from err
    return array


def _check_numeric(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}.")
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{name} should hold numbers, but some values cannot be converted to float "
                f"({err})."
            ) from err
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} should hold numbers, but got dtype {array.dtype}. Convert it with "
            f"{name}.astype(float) (or encode text labels as integers)."
        )
    return array


def _check_finite(array: np.ndarray, name: str) -> None:
    if array.dtype.kind != "f":
        return
    if np.isnan(array).any():
        raise ValueError(
            f"Input {name} contains NaN ({int(np.isnan(array).sum())} values). Impute or drop "
            "these samples first."
        )
    if np.isinf(array).any():
        raise ValueError(
            f"Input {name} contains infinity or a value too large for dtype({str(array.dtype)!r})."
        )


def _check_input(X: Any, min_samples: int) -> np.ndarray:
    """``X`` as a 2-D finite numeric array with at least ``min_samples`` rows (sklearn rules)."""
    array = _check_numeric(_as_numpy(X, "X"), "X")
    if array.ndim == 0:
        raise ValueError(
            f"Expected 2D array, got scalar array instead: X={array!r}. Reshape your data "
            "using array.reshape(-1, 1) if it has a single feature."
        )
    if array.ndim == 1:
        raise ValueError(
            f"Expected 2D array, got 1D array instead: X has shape {array.shape}. Reshape your "
            "data using array.reshape(-1, 1) if it has a single feature, or "
            "array.reshape(1, -1) if it is a single sample."
        )
    if array.ndim > 2:
        raise ValueError(
            f"Found array with dim {array.ndim}. SklearnDataset expected <= 2 "
            f"(X has shape {array.shape}: time steps x features)."
        )
    if array.shape[0] < min_samples:
        raise ValueError(
            f"Found array with {array.shape[0]} sample(s) (shape={array.shape}) while a "
            f"minimum of {min_samples} is required."
        )
    if array.shape[1] < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is "
            "required."
        )
    _check_finite(array, "X")
    return array


def _check_label(y: Any, position: int, num_samples: int) -> np.ndarray:
    name = f"y[{position}]"
    array = _check_numeric(_as_numpy(y, name), name)
    if array.ndim == 0:
        raise ValueError(
            f"Expected a label array with one entry per sample, got a scalar for {name}."
        )
    if array.ndim > 2:
        raise ValueError(
            f"Found array with dim {array.ndim} for {name}. Labels are expected <= 2 "
            f"(time steps x label dimensions), got shape {array.shape}."
        )
    if len(array) != num_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{num_samples}, {len(array)}] (X and {name})."
        )
    _check_finite(array, name)
    return array


def _parse_labels(y: Any, num_samples: int) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """Split the label tuple into one continuous ``(N, d)`` and at most one discrete ``(N,)`` array."""
    if y is None:
        raise ValueError("Labels cannot be None: pass a tuple of label arrays, or () for none.")
    if not isinstance(y, tuple):
        raise TypeError(
            f"Expected a tuple of label arrays, but got {type(y).__name__}. Pass labels as "
            "y=(position,) or y=(position, direction), or y=() for none."
        )
    continuous: List[np.ndarray] = []
    discrete: List[Tuple[int, np.ndarray]] = []
    for position, label in enumerate(y):
        array = _check_label(label, position, num_samples)
        if array.dtype.kind == "f":
            continuous.append(array.reshape(num_samples, -1) if array.ndim == 1 else array)
        else:  # integers and booleans are labels of a discrete index
            if array.ndim == 2 and array.shape[1] != 1:
                raise ValueError(
                    f"A discrete index must be one-dimensional, but y[{position}] has shape "
                    f"{array.shape}. Pass one integer label per sample, or float values for a "
                    "continuous index."
                )
            discrete.append((position, array.reshape(num_samples)))
    if len(discrete) > 1:
        positions = [p for p, _ in discrete]
        raise ValueError(
            f"At most one discrete (integer) index is allowed, but got {len(discrete)} "
            f"(y{positions}). Combine them into one label, or pass some as float values."
        )
    if len(continuous) > 1:
        merged = np.concatenate([c.astype(np.float32, copy=False) for c in continuous], axis=1)
    else:
        merged = continuous[0] if continuous else None
    labels = discrete[0][1] if discrete else None
    if labels is not None and labels.dtype == np.bool_:
        labels = labels.astype(np.int64)
    return merged, labels


class SklearnDataset(TensorDataset):
    """A single session built from a data matrix ``X`` and a tuple of labels ``y``.

    Mirrors CEBRA's ``cebra.integrations.sklearn.dataset.SklearnDataset``:
    floating-point label arrays become the continuous index (concatenated
    along columns in the order given), at most one integer (or boolean) array
    becomes the discrete index. Inputs follow scikit-learn's rules and
    messages: ``X`` must be 2-D, finite, with at least two samples and one
    feature; every label must have one entry per sample and be finite.

    Storage follows :class:`~cebra_data.TensorDataset`: a float32 ``X`` (also
    a read-only one) and a single float32 continuous label are shared, not
    copied; other dtypes are converted to float32 (labels: float32 and int64).

    With ``y=()`` the dataset carries no index: it serves the time-contrastive
    loaders (``conditional="time"``), which is what :func:`make_loader` picks
    for it. (:class:`~cebra_data.TensorDataset` itself insists on a label;
    this is the one place that lifts that rule, as CEBRA's estimator does.)

    Args:
        X: ``(N, features)`` data, a numpy array, torch tensor or nested list.
        y: a tuple of label arrays, each ``(N,)`` or ``(N, k)``.
        device: the device to hold the tensors on.

    Raises:
        TypeError: if ``y`` is not a tuple.
        ValueError: with scikit-learn's messages for a wrong shape, too few
            samples, NaN or infinite values, inconsistent lengths, several
            discrete labels or a 2-D discrete label.

    Example:
        >>> import numpy as np
        >>> from cebra_data.sklearn import SklearnDataset
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(100, 30)).astype("float32")
        >>> position, speed = rng.uniform(size=(100, 2)), rng.uniform(size=100)
        >>> direction = rng.integers(0, 2, size=100)
        >>> ds = SklearnDataset(X, (position, speed, direction))
        >>> ds.continuous_index.shape, ds.discrete_index.shape, ds.total_index_dimensions
        (torch.Size([100, 3]), torch.Size([100]), 4)
        >>> SklearnDataset(X, (position[:99],))
        Traceback (most recent call last):
        ...
        ValueError: Found input variables with inconsistent numbers of samples: [100, 99] (X and y[0]).
    """

    #: fewest samples accepted (as CEBRA: a conservative floor; a model's
    #: window may need more, see :meth:`configure_for`)
    min_samples: int = 2

    def __init__(self, X: Any, y: Tuple[Any, ...], device: DeviceLike = "cpu") -> None:
        array = _check_input(X, self.min_samples)
        continuous, discrete = _parse_labels(y, len(array))
        unlabelled = continuous is None and discrete is None
        # TensorDataset requires a label; an unlabelled dataset borrows time for
        # construction and then drops it, so its continuous_index is None.
        placeholder = np.arange(len(array), dtype=np.float32)[:, None] if unlabelled else None
        super().__init__(
            array,
            continuous=placeholder if unlabelled else continuous,
            discrete=discrete,
            device=device,
        )
        if unlabelled:
            self.continuous = None

    @property
    def continuous_index_dimensions(self) -> int:
        """Columns of the continuous index (0 without one)."""
        return 0 if self.continuous_index is None else int(self.continuous_index.shape[1])

    @property
    def discrete_index_dimensions(self) -> int:
        """1 with a discrete index, else 0."""
        return 0 if self.discrete_index is None else 1

    @property
    def total_index_dimensions(self) -> int:
        """Continuous plus discrete index dimensions."""
        return self.continuous_index_dimensions + self.discrete_index_dimensions

    def __repr__(self) -> str:
        text = super().__repr__()
        prefix = "TensorDataset("
        return "SklearnDataset(" + text[len(prefix):] if text.startswith(prefix) else text


# --------------------------------------------------------------------------- loader selection


@dataclasses.dataclass(frozen=True)
class LoaderChoice:
    """One row of :data:`LOADER_TABLE`.

    Attributes:
        loader: the loader class.
        solver: the kind of training loop the loader's batches need, as named
            by CEBRA (``"single-session"``, ``"single-session-full"``,
            ``"single-session-hybrid"``, ``"multi-session"``).
        conditional: the conditional the loader gets by default; ``None``
            for loaders without one.
        fixed_conditional: the conditional cannot be chosen (label-free
            time contrast, or no conditional at all).
        uses_delta: the loader takes ``delta`` (for ``"delta_normal"``).
        uses_time_offset: the loader takes ``time_offset``.
    """

    loader: type
    solver: str
    conditional: Optional[str]
    fixed_conditional: bool = False
    uses_delta: bool = False
    uses_time_offset: bool = True


#: ``(multi_session, continuous, discrete, full_batch, hybrid)`` -> the loader
#: to use. Mirrors CEBRA's ``_init_loader``; everything absent is refused.
LOADER_TABLE: Dict[Tuple[bool, bool, bool, bool, bool], LoaderChoice] = {
    (False, False, False, False, False): LoaderChoice(
        ContinuousDataLoader, "single-session", "time", fixed_conditional=True),
    (False, False, False, True, False): LoaderChoice(
        FullDataLoader, "single-session-full", "time", fixed_conditional=True),
    (False, True, False, False, False): LoaderChoice(
        ContinuousDataLoader, "single-session", "time_delta", uses_delta=True),
    (False, True, False, False, True): LoaderChoice(
        HybridDataLoader, "single-session-hybrid", "time_delta", uses_delta=True),
    (False, True, False, True, False): LoaderChoice(
        FullDataLoader, "single-session-full", "time_delta", uses_delta=True),
    (False, False, True, False, False): LoaderChoice(
        DiscreteDataLoader, "single-session", None, fixed_conditional=True,
        uses_time_offset=False),
    (False, True, True, False, False): LoaderChoice(
        MixedDataLoader, "single-session", "time_delta"),
    (True, True, False, False, False): LoaderChoice(
        ContinuousMultiSessionDataLoader, "multi-session", "time_delta"),
}


def _describe_labels(continuous: bool, discrete: bool) -> str:
    if continuous and discrete:
        return "a continuous and a discrete index"
    if continuous:
        return "a continuous index only"
    if discrete:
        return "a discrete index only"
    return "no index (time-contrastive learning)"


def _describe_options(full: bool, hybrid: bool) -> str:
    return f"batch_size={'None (full batch)' if full else '<int>'}, hybrid={hybrid}"


def select_loader(
    multi_session: bool,
    continuous: bool,
    discrete: bool,
    full_batch: bool,
    hybrid: bool,
) -> LoaderChoice:
    """Look a combination up in :data:`LOADER_TABLE`.

    Args:
        multi_session: several sessions (a multi-session dataset).
        continuous: the data have a continuous index.
        discrete: the data have a discrete index.
        full_batch: train on the whole dataset per step (``batch_size=None``).
        hybrid: train on behaviour and time together.

    Returns:
        The table's :class:`LoaderChoice`.

    Raises:
        UnsupportedCombinationError: for a combination not in the table; the
            message lists the options possible for these labels.

    Example:
        >>> from cebra_data.sklearn import select_loader
        >>> select_loader(False, True, False, False, True).loader.__name__
        'HybridDataLoader'
        >>> select_loader(True, False, True, False, False)
        Traceback (most recent call last):
        ...
        cebra_data.errors.UnsupportedCombinationError: No loader for several sessions with a discrete index only and batch_size=<int>, hybrid=False. ...
    """
    key = (bool(multi_session), bool(continuous), bool(discrete), bool(full_batch), bool(hybrid))
    choice = LOADER_TABLE.get(key)
    if choice is not None:
        return choice
    sessions = "several sessions" if multi_session else "one session"
    labels = _describe_labels(continuous, discrete)
    possible = [
        f"{_describe_options(k[3], k[4])} -> {c.loader.__name__}"
        for k, c in LOADER_TABLE.items()
        if k[:3] == key[:3]
    ]
    if possible:
        alternatives = "Possible for this data: " + "; ".join(possible) + "."
    else:
        with_labels = sorted({_describe_labels(k[1], k[2]) for k in LOADER_TABLE if k[0] == key[0]})
        alternatives = (
            f"No option works for {sessions} with {labels}; {sessions} can be trained with "
            + " or ".join(with_labels) + "."
        )
    why = ""
    if hybrid and not (continuous or discrete):
        why = " Hybrid training needs a behaviour index to combine with time."
    elif multi_session and not (continuous or discrete):
        why = " Multi-session training aligns sessions through their labels, so it needs one."
    raise UnsupportedCombinationError(
        f"No loader for {sessions} with {labels} and {_describe_options(full_batch, hybrid)}."
        f"{why} {alternatives}"
    )


def _check_time_offsets(time_offsets: Any) -> int:
    if isinstance(time_offsets, (list, tuple, np.ndarray, torch.Tensor)):
        values = list(np.asarray(time_offsets).reshape(-1)) if not isinstance(
            time_offsets, (list, tuple)) else list(time_offsets)
        if len(values) != 1:
            raise UnsupportedCombinationError(
                f"One time offset is supported, but got time_offsets={time_offsets!r} "
                f"({len(values)} values). Pass a single integer, e.g. time_offsets=10."
            )
        time_offsets = values[0]
    return check_int(time_offsets, "time_offsets", minimum=0)


def _as_dataset(data: Any) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("make_loader needs at least one session, but got an empty list.")
        if len(data) == 1:
            return _as_dataset(data[0])
        return DatasetCollection(list(data))
    raise TypeError(
        "make_loader expects a cebra_data dataset (e.g. SklearnDataset, TensorDataset) or a "
        f"list of single-session datasets, but got {type(data).__name__}."
    )


def make_loader(
    data: Union[Dataset, Sequence[SingleSessionDataset]],
    num_steps: int,
    batch_size: Optional[int] = None,
    *,
    conditional: Optional[str] = None,
    hybrid: bool = False,
    time_offsets: Union[int, Sequence[int]] = 1,
    delta: float = 0.1,
    seed: Optional[int] = None,
) -> Loader:
    """The loader an estimator would train with, for this data and these options.

    The labels the data carry (continuous, discrete, both or none) and the
    options select one row of the table in the module docstring
    (:data:`LOADER_TABLE`), which mirrors CEBRA's estimator.

    Args:
        data: one single-session dataset, a multi-session dataset, or a list
            of single-session datasets (several become a
            :class:`~cebra_data.DatasetCollection`, one is used as is).
        num_steps: training steps (CEBRA's ``max_iterations``).
        batch_size: references per batch; ``None`` trains on the full
            dataset each step (CEBRA's default).
        conditional: the positive distribution (``"time_delta"``, ``"time"``,
            ``"delta_normal"``); ``None`` takes the table's default. Not
            accepted where the loader has no choice of conditional.
        hybrid: train on behaviour and time together.
        time_offsets: the time offset, an integer or a sequence of one
            integer (CEBRA's estimator default is 1).
        delta: standard deviation of ``"delta_normal"``.
        seed: the loader's seed (the same seed gives the same batches).

    Returns:
        The constructed loader.

    Raises:
        UnsupportedCombinationError: for a combination no loader serves, for a
            ``conditional`` where none can be chosen, or for several time
            offsets; the message lists what is possible.
        TypeError, ValueError: for invalid values (from the loader's own checks).

    Example:
        >>> import numpy as np
        >>> from cebra_data.sklearn import SklearnDataset, make_loader
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(500, 20)).astype("float32")
        >>> position = rng.uniform(size=(500, 1))
        >>> type(make_loader(SklearnDataset(X, (position,)), 5, 64, seed=0)).__name__
        'ContinuousDataLoader'
        >>> type(make_loader(SklearnDataset(X, ()), 5, None, seed=0)).__name__
        'FullDataLoader'
    """
    dataset = _as_dataset(data)
    num_steps = check_positive_int(num_steps, "num_steps")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if not isinstance(hybrid, (bool, np.bool_)):
        raise TypeError(f"hybrid should be True or False, but got hybrid={hybrid!r}.")
    time_offset = _check_time_offsets(time_offsets)
    delta = check_float(delta, "delta", strictly_positive=True)
    multi = isinstance(dataset, MultiSessionDataset)
    has_continuous = dataset.continuous_index is not None
    has_discrete = dataset.discrete_index is not None
    choice = select_loader(multi, has_continuous, has_discrete, batch_size is None, bool(hybrid))
    if conditional is not None and choice.fixed_conditional:
        if conditional != choice.conditional:
            raise UnsupportedCombinationError(
                f"conditional={conditional!r} has no effect for data with "
                f"{_describe_labels(has_continuous, has_discrete)}: {choice.loader.__name__} "
                + ("draws positives by label" if choice.conditional is None
                   else f"always uses conditional={choice.conditional!r}")
                + ". Pass conditional=None, or add a continuous index to choose one."
            )
    loader_cls = choice.loader
    kwargs: Dict[str, Any] = {"seed": seed}
    if choice.conditional is not None:
        kwargs["conditional"] = conditional if conditional is not None else choice.conditional
    if choice.uses_time_offset:
        kwargs["time_offset"] = time_offset
    if choice.uses_delta:
        kwargs["delta"] = delta
    return loader_cls(dataset, num_steps=num_steps, batch_size=batch_size, **kwargs)
