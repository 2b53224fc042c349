"""Trials: ragged per-trial arrays, positions inside trials, repeated stimuli.

A recording made of trials is stored as one long recording plus ``trial_ids``,
an ``(N,)`` integer array that marks every trial as one contiguous block of time
steps. :meth:`cebra_data.TensorDataset.from_trials` builds that layout from a
list of per-trial arrays of different lengths; windows and time-contrastive
positives then never cross a trial border.

When trials are *repeats* of the same stimulus (a movie shown ten times, a
sound played in every block), the same frame of the stimulus in another repeat
is a natural positive. :func:`repeat_frame_labels` turns the trial structure
and one stimulus id per trial into a discrete label ``(stimulus, frame)``, so
that :class:`cebra_data.DiscreteDataLoader` draws exactly those positives.
"""

from __future__ import annotations

import warnings
from typing import Any, Hashable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cebra_data.errors import MethodologyWarning

__all__ = [
    "trial_starts",
    "trial_bounds",
    "frame_in_trial",
    "repeat_frame_labels",
    "concatenate_trials",
]

ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_trial_array(trial_ids: Any) -> np.ndarray:
    """``trial_ids`` as a 1-D int64 numpy array whose trials are contiguous blocks."""
    if isinstance(trial_ids, torch.Tensor):
        trial_ids = trial_ids.detach().cpu().numpy()
    array = np.asarray(trial_ids)
    if array.ndim != 1:
        raise ValueError(
            f"trial_ids should be a 1-D array with one trial id per time step, but got shape "
            f"{array.shape}."
        )
    if array.size == 0:
        raise ValueError("trial_ids is empty; it needs one trial id per time step.")
    if array.dtype.kind not in "iu":
        raise TypeError(f"trial_ids should hold integers, but got dtype {array.dtype}.")
    array = array.astype(np.int64, copy=False)
    starts = np.flatnonzero(np.r_[True, array[1:] != array[:-1]])
    block_ids = array[starts]
    unique, counts = np.unique(block_ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            "trial_ids should mark each trial as one contiguous block of time steps, but "
            f"trial(s) {unique[counts > 1][:5].tolist()} appear in several separate blocks."
        )
    return array


def trial_starts(trial_ids: ArrayLike) -> np.ndarray:
    """Start of every trial followed by the recording length (the trial borders).

    Trial ``k`` (the ``k``-th block in time order) spans
    ``borders[k] .. borders[k + 1] - 1``.

    Args:
        trial_ids: ``(N,)`` integer trial id of every time step, each trial one
            contiguous block.

    Returns:
        An int64 array of ``num_trials + 1`` borders.

    Raises:
        ValueError: if a trial appears in several separate blocks.

    Example:
        >>> from cebra_data.trials import trial_starts
        >>> trial_starts([7, 7, 7, 2, 2, 5]).tolist()
        [0, 3, 5, 6]
    """
    array = _as_trial_array(trial_ids)
    starts = np.flatnonzero(np.r_[True, array[1:] != array[:-1]])
    return np.r_[starts, array.size].astype(np.int64)


def frame_in_trial(trial_ids: ArrayLike) -> np.ndarray:
    """Position of every time step inside its trial (0 at each trial's first step).

    Args:
        trial_ids: ``(N,)`` integer trial id of every time step, each trial one
            contiguous block.

    Returns:
        An int64 array ``(N,)``.

    Example:
        >>> from cebra_data.trials import frame_in_trial
        >>> frame_in_trial([0, 0, 0, 1, 1, 2]).tolist()
        [0, 1, 2, 0, 1, 0]
    """
    borders = trial_starts(trial_ids)
    lengths = np.diff(borders)
    return np.arange(borders[-1], dtype=np.int64) - np.repeat(borders[:-1], lengths)


def repeat_frame_labels(
    trial_ids: ArrayLike,
    stimulus_ids: Union[Sequence[Hashable], Mapping[int, Hashable]],
    *,
    return_pairs: bool = False,
) -> Union[np.ndarray, Tuple[np.ndarray, List[Tuple[Hashable, int]]]]:
    """Discrete labels that pair the same stimulus frame across repeats.

    The label of time step ``i`` is a dense integer code of the pair
    ``(stimulus of its trial, position of i inside its trial)``. Two time
    steps share a label exactly when they show the same frame of the same
    stimulus, in the same or in another repeat. Passed as ``discrete`` to a
    :class:`~cebra_data.TensorDataset`, a
    :class:`~cebra_data.DiscreteDataLoader` then draws as positive of every
    reference the same frame in a (random) repeat: a positive that shares the
    stimulus but not the trial's noise.

    Codes are ordered by stimulus (in order of first appearance) and then by
    frame: ``0 .. F0 - 1`` are the frames of the first stimulus, and so on.

    Repeats of one stimulus may have different lengths; frames beyond the
    shortest repeat then occur in fewer repeats. A label that occurs only once
    (a stimulus shown once, or a frame only the longest repeat reaches) gives
    the reference itself as positive; this is reported with a warning.

    Args:
        trial_ids: ``(N,)`` integer trial id of every time step, each trial one
            contiguous block.
        stimulus_ids: the stimulus shown in each trial, either a sequence with
            one entry per trial *in time order* (the order the trials appear in
            ``trial_ids``), or a mapping from trial id to stimulus id. Stimulus
            ids may be any hashable value (integers, strings).
        return_pairs: also return, for every label code, its
            ``(stimulus_id, frame)`` pair.

    Returns:
        The int64 labels ``(N,)``; with ``return_pairs``, the tuple
        ``(labels, pairs)`` where ``pairs[code] == (stimulus_id, frame)``.

    Raises:
        ValueError: if ``stimulus_ids`` has the wrong length or misses a trial.
        TypeError: for non-integer ``trial_ids``.

    Example:
        Stimuli ``"A"`` and ``"B"`` alternate, each shown twice:

        >>> from cebra_data.trials import repeat_frame_labels
        >>> trial_ids = [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]
        >>> labels, pairs = repeat_frame_labels(trial_ids, ["A", "B", "A", "B"], return_pairs=True)
        >>> labels.tolist()
        [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]
        >>> pairs[4]
        ('B', 1)
    """
    trials = _as_trial_array(trial_ids)
    borders = trial_starts(trials)
    order = trials[borders[:-1]]  # trial id of every block, in time order
    num_trials = order.size
    if isinstance(stimulus_ids, Mapping):
        missing = [int(t) for t in order if int(t) not in stimulus_ids]
        if missing:
            raise ValueError(
                f"stimulus_ids should give the stimulus of every trial, but trial(s) "
                f"{missing[:5]} have no entry (it has {len(stimulus_ids)} entries for "
                f"{num_trials} trials)."
            )
        per_trial = [stimulus_ids[int(t)] for t in order]
    else:
        if isinstance(stimulus_ids, (str, bytes)):
            raise TypeError(
                "stimulus_ids should be a sequence with one stimulus id per trial or a "
                f"mapping from trial id to stimulus id, but got the string {stimulus_ids!r}."
            )
        per_trial = list(stimulus_ids.tolist() if hasattr(stimulus_ids, "tolist") else stimulus_ids)
        if len(per_trial) != num_trials:
            raise ValueError(
                f"stimulus_ids should have one entry per trial ({num_trials} trials in "
                f"trial_ids), but got {len(per_trial)} entries."
            )
    codes: dict = {}
    stimulus_code = np.empty(num_trials, dtype=np.int64)
    for k, stimulus in enumerate(per_trial):
        stimulus_code[k] = codes.setdefault(stimulus, len(codes))
    lengths = np.diff(borders)
    frames = frame_in_trial(trials)
    key = np.repeat(stimulus_code, lengths) * (int(lengths.max()) + 1) + frames
    unique, labels = np.unique(key, return_inverse=True)
    labels = labels.astype(np.int64).reshape(-1)
    counts = np.bincount(labels, minlength=unique.size)
    single = int((counts == 1).sum())
    if single:
        warnings.warn(
            f"{single} of {unique.size} (stimulus, frame) labels occur in one time step only "
            "(a stimulus shown once, or frames beyond its shortest repeat); a discrete "
            "conditional gives those references themselves as positives.",
            MethodologyWarning,
            stacklevel=2,
        )
    if not return_pairs:
        return labels
    names = list(codes)
    width = int(lengths.max()) + 1
    pairs = [(names[int(k // width)], int(k % width)) for k in unique]
    return labels, pairs


def _per_trial_arrays(values: Any, name: str) -> List[Any]:
    if isinstance(values, (np.ndarray, torch.Tensor)) and values.ndim >= 2 and name == "neural_trials":
        raise TypeError(
            "neural_trials should be a list of per-trial arrays (time steps, features), but got "
            f"one {values.ndim}-D array of shape {tuple(values.shape)}. Pass list(array) if its "
            "first axis enumerates equal-length trials."
        )
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(
            f"{name} should be a list with one array per trial, but got {type(values).__name__}."
        )
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty; it needs one array per trial.")
    return values


def _concat(parts: List[Any]) -> Any:
    if all(isinstance(p, torch.Tensor) for p in parts):
        return torch.cat(parts)
    return np.concatenate([p.detach().cpu().numpy() if isinstance(p, torch.Tensor) else np.asarray(p)
                           for p in parts])


def concatenate_trials(
    neural_trials: Sequence[ArrayLike],
    continuous: Optional[Sequence[ArrayLike]] = None,
    discrete: Optional[Union[Sequence[ArrayLike], Sequence[int], ArrayLike]] = None,
    trial_ids: Optional[Sequence[int]] = None,
) -> dict:
    """Concatenate ragged per-trial arrays into one recording with ``trial_ids``.

    This is the layout step behind
    :meth:`cebra_data.TensorDataset.from_trials`; it checks that the trials
    agree with each other and returns plain arrays.

    Args:
        neural_trials: one ``(T_k, D)`` array per trial; lengths ``T_k`` may
            differ, the number of features ``D`` may not.
        continuous: ``None`` or one ``(T_k, d)`` (or ``(T_k,)``) array per trial.
        discrete: ``None``; one ``(T_k,)`` integer array per trial; or one
            integer per trial (a 1-D integer array or a list of integers),
            which labels every time step of that trial (e.g. the trial's
            condition or stimulus).
        trial_ids: the id of each trial (default ``0 .. K - 1``); ids must be
            distinct integers.

    Returns:
        A dict with ``neural``, ``continuous``, ``discrete`` (or ``None``) and
        ``trial_ids`` (int64, ``(N,)``).

    Raises:
        ValueError: for an empty trial, a wrong number of per-trial entries,
            a length that differs between a trial's arrays, or repeated trial ids.
        TypeError: for a wrong container type.

    Example:
        >>> import numpy as np
        >>> from cebra_data.trials import concatenate_trials
        >>> parts = concatenate_trials([np.zeros((3, 2)), np.ones((2, 2))], discrete=[4, 9])
        >>> parts["trial_ids"].tolist(), parts["discrete"].tolist()
        ([0, 0, 0, 1, 1], [4, 4, 4, 9, 9])
    """
    neural_list = _per_trial_arrays(neural_trials, "neural_trials")
    num_trials = len(neural_list)
    lengths = []
    widths = set()
    for k, trial in enumerate(neural_list):
        shape = tuple(getattr(trial, "shape", ()))
        if len(shape) != 2:
            raise ValueError(
                f"every neural trial should be a 2-D array (time steps, features), but trial {k} "
                f"has shape {shape}."
            )
        if shape[0] == 0:
            raise ValueError(f"neural trial {k} is empty; every trial needs at least one time step.")
        lengths.append(shape[0])
        widths.add(shape[1])
    if len(widths) > 1:
        listing = ", ".join(f"trial {k}: {t.shape[1]}" for k, t in enumerate(neural_list))
        raise ValueError(f"every neural trial should have the same number of features, but got {listing}.")

    def check_lengths(name: str, arrays: List[Any]) -> None:
        if len(arrays) != num_trials:
            raise ValueError(
                f"{name} should have one entry per trial ({num_trials} neural trials), but got "
                f"{len(arrays)} entries."
            )
        for k, (array, length) in enumerate(zip(arrays, lengths)):
            got = len(array)
            if got != length:
                raise ValueError(
                    f"trial {k} has {length} neural time steps but {got} {name} rows; every "
                    "array of a trial needs one row per time step."
                )

    if trial_ids is None:
        ids = np.arange(num_trials, dtype=np.int64)
    else:
        ids = np.asarray(trial_ids.cpu() if isinstance(trial_ids, torch.Tensor) else trial_ids)
        if ids.ndim != 1 or ids.size != num_trials:
            raise ValueError(
                f"trial_ids should give one id per trial ({num_trials}), but got shape {ids.shape}."
            )
        if ids.dtype.kind not in "iu":
            raise TypeError(f"trial_ids should hold integers, but got dtype {ids.dtype}.")
        if np.unique(ids).size != ids.size:
            raise ValueError(f"trial_ids should be distinct, but got {ids.tolist()[:10]}.")
        ids = ids.astype(np.int64)
    result = {
        "neural": _concat(neural_list),
        "continuous": None,
        "discrete": None,
        "trial_ids": np.repeat(ids, lengths),
    }
    if continuous is not None:
        continuous_list = _per_trial_arrays(continuous, "continuous")
        check_lengths("continuous", continuous_list)
        result["continuous"] = _concat(continuous_list)
    if discrete is not None:
        discrete_list = _per_trial_arrays(discrete, "discrete")
        if len(discrete_list) != num_trials:
            raise ValueError(
                f"discrete should have one entry per trial ({num_trials} neural trials), but got "
                f"{len(discrete_list)} entries."
            )
        scalar = [np.ndim(d) == 0 for d in discrete_list]
        if all(scalar):
            labels = np.asarray([d.item() if hasattr(d, "item") else d for d in discrete_list])
            if labels.dtype.kind not in "iu":
                raise TypeError(
                    f"per-trial discrete labels should be integers, but got dtype {labels.dtype}."
                )
            result["discrete"] = np.repeat(labels.astype(np.int64), lengths)
        elif any(scalar):
            raise ValueError(
                "discrete should be either one integer per trial or one array per trial, but got "
                "a mix of scalars and arrays."
            )
        else:
            check_lengths("discrete", discrete_list)
            result["discrete"] = _concat(discrete_list)
    return result


def trial_bounds(trial_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per sample: the index of the first sample of its trial and one past its last.

    Args:
        trial_ids: ``(N,)`` trial ids, each trial one contiguous block.

    Example:
        >>> import torch
        >>> from cebra_data.trials import trial_bounds
        >>> low, high = trial_bounds(torch.tensor([4, 4, 7, 7, 7]))
        >>> low.tolist(), high.tolist()
        ([0, 0, 2, 2, 2], [2, 2, 5, 5, 5])
    """
    n = trial_ids.numel()
    position = torch.arange(n)
    new_trial = torch.ones(n, dtype=torch.bool)
    new_trial[1:] = trial_ids[1:].cpu() != trial_ids[:-1].cpu()
    starts = position[new_trial]
    ends = torch.cat([starts[1:], torch.tensor([n])])
    block = torch.cumsum(new_trial.long(), 0) - 1
    return starts[block], ends[block]
