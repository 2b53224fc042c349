"""Train / validation / test splits that share no window.

:func:`split_dataset` cuts a dataset into parts by contiguous blocks of time or
by whole trials. Every part is a dataset of the same kind as the input, marked
with its part name (:attr:`~cebra_data.TensorDataset.split_part`), whether it is
held out (:attr:`~cebra_data.TensorDataset.held_out`) and the original time step
of each of its samples (:attr:`~cebra_data.TensorDataset.source_index`). The
samples that no part receives are listed in :attr:`DatasetSplit.gaps`, never
dropped silently.

Why a gap
---------
A sample's window covers ``[i - offset.left, i + offset.right)`` of the
recording. Two parts cut out of one recording next to each other would let a
model see, in a training window, the same time steps that a test window covers.
With ``g`` time steps left out between the last step ``a`` of one part and the
first step ``b = a + g + 1`` of the next, every window of the first part ends at
``a + offset.right - 1`` or earlier (once clamped into the part, at ``a``) and
every window of the second part starts at ``b - offset.left`` or later, so the
windows of both parts are disjoint in the original recording as soon as
``g >= len(offset) - 1``. The default gap is ``len(offset)`` time steps: that
bound plus one step. Split *after* setting the offset your model needs.

Trials need no gap: windows never cross a trial border, so whole trials assigned
to different parts never share a window (adjacent trials stay adjacent in the
recording but no window spans both).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import check_choice, check_int
from cebra_data.datasets import TensorDataset
from cebra_data.errors import MethodologyWarning
from cebra_data.multi_session import MultiSessionDataset

__all__ = ["DatasetSplit", "split_dataset", "SPLIT_BY"]

#: The values of ``split_dataset(by=...)``.
SPLIT_BY = ("time", "trial")

_DEFAULT_NAMES = {2: ("train", "test"), 3: ("train", "validation", "test")}
_RESERVED = {"names", "by", "gaps", "gap", "seed", "assignment", "dropped", "as_dict"}

Block = Tuple[int, int, int]  # (start, stop, part index)


class DatasetSplit(tuple):
    """The parts of a split, in order; unpack it or access parts by name.

    ``train, validation, test = split_dataset(ds)`` unpacks the parts;
    ``split.train``, ``split["test"]`` and ``split[0]`` access one part.

    Attributes:
        names: the part names, in order. The first part is the training part;
            every other part is *held out* (``part.held_out`` is ``True``).
        by: ``"time"`` or ``"trial"``.
        gaps: one dict per stretch of time steps that no part received, with
            ``session`` (``None`` for a single session), ``start``, ``stop``
            (the stretch ``start .. stop - 1`` of the recording), ``length``
            and ``reason`` (``"gap"`` between two parts, ``"unassigned"`` for
            explicit parts that leave time steps or trials out).
        gap: the gap length used between parts split by time (0 by trial).
        seed: the seed of the random assignment (drawn from the operating
            system and recorded here when ``seed=None`` was passed), or
            ``None`` when nothing was random.
        assignment: per session, the part index of every block (by time) or
            trial (by trial), in time order.
    """

    names: Tuple[str, ...]
    by: str
    gaps: List[Dict[str, Any]]
    gap: int
    seed: Optional[int]
    assignment: List[List[int]]

    def __new__(cls, parts: Sequence[Any], **attributes: Any) -> "DatasetSplit":
        split = super().__new__(cls, parts)
        for key, value in attributes.items():
            object.__setattr__(split, key, value)
        return split

    @property
    def dropped(self) -> int:
        """The number of time steps that no part received."""
        return sum(g["length"] for g in self.gaps)

    def __getattr__(self, name: str) -> Any:
        names = self.__dict__.get("names", ())
        if name in names:
            return tuple.__getitem__(self, names.index(name))
        raise AttributeError(f"{type(self).__name__} has no part or attribute {name!r}; parts: {list(names)}.")

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self.names:
                raise KeyError(f"no part named {key!r}; parts: {list(self.names)}.")
            key = self.names.index(key)
        return tuple.__getitem__(self, key)

    def as_dict(self) -> Dict[str, Any]:
        """The parts as ``{name: dataset}``."""
        return dict(zip(self.names, self))

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}={len(part)} steps" for name, part in zip(self.names, self))
        return (f"DatasetSplit(by={self.by!r}, {parts}; {self.dropped} time steps dropped in "
                f"{len(self.gaps)} gap(s), seed={self.seed})")


# -- argument checks -------------------------------------------------------------------


def _is_real_number(value: Any) -> bool:
    """Whether ``value`` is one real number: ``bool``, text and complex excluded; a 0-d tensor or array counts."""
    if isinstance(value, torch.Tensor):
        return value.ndim == 0 and value.dtype != torch.bool and not value.dtype.is_complex
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _check_fractions(fractions: Any) -> np.ndarray:
    if isinstance(fractions, Mapping):
        raise TypeError(
            f"fractions should be a sequence of numbers such as (0.8, 0.1, 0.1), but got a "
            f"{type(fractions).__name__} {fractions!r}; pass the part names as names=... (or the "
            "parts themselves as parts=...)."
        )
    if isinstance(fractions, (str, bytes)) or not hasattr(fractions, "__len__") \
            or getattr(fractions, "ndim", 1) == 0:
        raise TypeError(
            f"fractions should be a sequence of numbers such as (0.8, 0.1, 0.1), but got {fractions!r}."
        )
    bad = [value for value in fractions if not _is_real_number(value)]
    if bad:
        raise TypeError(
            "fractions should be a sequence of numbers such as (0.8, 0.1, 0.1), but got "
            f"{bad[0]!r} of type {type(bad[0]).__name__} in {fractions!r}."
        )
    values = np.asarray([float(value) for value in fractions], dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"fractions should list at least two parts, but got {list(fractions)}.")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"fractions should be positive, but got {list(fractions)}.")
    if abs(values.sum() - 1.0) > 1e-6:
        raise ValueError(f"fractions should sum to 1, but got {list(fractions)} (sum {values.sum():.6g}).")
    return values


def _check_names(names: Any, num_parts: int) -> Tuple[str, ...]:
    if names is None:
        if num_parts not in _DEFAULT_NAMES:
            raise ValueError(
                f"names are required for a split into {num_parts} parts (defaults exist for 2 "
                "parts, ('train', 'test'), and 3 parts, ('train', 'validation', 'test'))."
            )
        return _DEFAULT_NAMES[num_parts]
    names = tuple(names)
    if len(names) != num_parts or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names should be {num_parts} non-empty strings, but got {names!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"names should be distinct, but got {names!r}.")
    for name in names:
        if name in _RESERVED or hasattr(tuple, name):
            raise ValueError(f"{name!r} cannot be a part name; it is an attribute of DatasetSplit.")
    return names


def _largest_remainder(fractions: np.ndarray, total: int, what: str) -> np.ndarray:
    """Integer counts summing to ``total``, proportional to ``fractions``, each at least 1."""
    if total < fractions.size:
        raise ValueError(
            f"cannot split {total} {what} into {fractions.size} parts; each part needs at least one."
        )
    raw = fractions * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    while (counts == 0).any():  # a tiny fraction still gets one unit, taken from the largest part
        counts[np.argmax(counts)] -= 1
        counts[np.argmin(counts)] += 1
    return counts


def _resolve_seed(seed: Optional[int]) -> int:
    """``seed`` (already checked by :func:`_check_seed`), or one drawn from the operating system."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    return seed


def _check_seed(seed: Any) -> Optional[int]:
    """``None`` or the seed as a non-negative ``int``; checked for every split, random or not."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(
            f"seed should be None or a non-negative integer, but got seed={seed!r} of type "
            f"{type(seed).__name__}."
        )
    if int(seed) < 0:
        raise ValueError(f"seed should be None or a non-negative integer, but got seed={int(seed)}.")
    return int(seed)


# -- layouts -------------------------------------------------------------------------------


def _time_blocks(
    n: int, fractions: np.ndarray, num_blocks: Optional[int], gap: int, window: int,
    rng: Optional[np.random.Generator], names: Tuple[str, ...],
) -> List[Block]:
    num_parts = fractions.size
    k = num_parts if num_blocks is None else num_blocks
    usable = n - gap * (k - 1)
    if usable < k * window:
        raise ValueError(
            f"a recording of {n} time steps cannot hold {k} blocks of at least one window "
            f"({window} steps) separated by gaps of {gap}; use fewer blocks or a smaller offset."
        )
    if num_blocks is None:
        lengths = _largest_remainder(fractions, usable, "time steps")
        part_of_block = np.arange(num_parts)
    else:
        lengths = np.full(k, usable // k)
        lengths[: usable % k] += 1
        counts = _largest_remainder(fractions, k, "blocks")
        part_of_block = rng.permutation(np.repeat(np.arange(num_parts), counts))
    blocks = []
    start = 0
    for length, part in zip(lengths, part_of_block):
        if length < window:
            raise ValueError(
                f"part {names[part]!r} would get a block of {length} time steps, fewer than one "
                f"window ({window}); the recording ({n} steps) is too short for these fractions."
            )
        blocks.append((start, start + int(length), int(part)))
        start += int(length) + gap
    return blocks


def _explicit_time_blocks(
    n: int, parts: Mapping[str, Any], gap_min: int, gap: Optional[int],
) -> Tuple[Tuple[str, ...], List[Block]]:
    names = _check_names(list(parts), len(parts))
    blocks: List[Block] = []
    for p, name in enumerate(names):
        ranges = parts[name]
        if isinstance(ranges, (tuple, list)) and len(ranges) == 2 and all(np.ndim(r) == 0 for r in ranges):
            ranges = [ranges]
        for item in ranges:
            if len(item) != 2:
                raise ValueError(f"part {name!r}: ranges should be (start, stop) pairs, but got {item!r}.")
            start = check_int(item[0], f"start of a range of part {name!r}", minimum=0)
            stop = check_int(item[1], f"stop of a range of part {name!r}", minimum=0)
            if not start < stop <= n:
                raise ValueError(
                    f"part {name!r}: range ({start}, {stop}) should satisfy 0 <= start < stop <= {n}."
                )
            blocks.append((start, stop, p))
    blocks.sort()
    required = gap_min if gap is None else gap
    for (s0, e0, p0), (s1, e1, p1) in zip(blocks, blocks[1:]):
        if s1 < e0:
            raise ValueError(
                f"ranges ({s0}, {e0}) of {names[p0]!r} and ({s1}, {e1}) of {names[p1]!r} overlap."
            )
        if p0 != p1 and s1 - e0 < required:
            raise ValueError(
                f"ranges ({s0}, {e0}) of {names[p0]!r} and ({s1}, {e1}) of {names[p1]!r} are "
                f"{s1 - e0} time steps apart, but parts must be at least {required} apart so that "
                "no window is shared; move the ranges apart."
            )
    return names, blocks


def _trial_layout(trial_ids: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    ids = trial_ids.detach().cpu().numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return ids[starts], np.r_[starts, ids.size]


def _trial_blocks(
    trial_ids: torch.Tensor, fractions: Optional[np.ndarray], parts: Optional[Mapping[str, Any]],
    rng: Optional[np.random.Generator], names: Optional[Tuple[str, ...]],
) -> Tuple[Tuple[str, ...], List[Block], List[int]]:
    order, borders = _trial_layout(trial_ids)
    if parts is not None:
        names = _check_names(list(parts), len(parts))
        position = {int(t): k for k, t in enumerate(order)}
        part_of_trial = np.full(order.size, -1)
        for p, name in enumerate(names):
            chosen = parts[name]
            if np.ndim(chosen) == 0:
                chosen = [chosen]
            for t in chosen:
                t = int(t)
                if t not in position:
                    raise ValueError(f"part {name!r}: trial {t} is not in the dataset's trial_ids.")
                if part_of_trial[position[t]] >= 0:
                    raise ValueError(
                        f"trial {t} is assigned to both {names[part_of_trial[position[t]]]!r} and {name!r}."
                    )
                part_of_trial[position[t]] = p
    else:
        counts = _largest_remainder(fractions, order.size, "trials")
        part_of_trial = rng.permutation(np.repeat(np.arange(fractions.size), counts))
    blocks = [(int(borders[k]), int(borders[k + 1]), int(part_of_trial[k])) for k in range(order.size)]
    return names, blocks, part_of_trial.tolist()


# -- building the parts ----------------------------------------------------------------------


def _gather(tensor: Optional[torch.Tensor], spans: List[Tuple[int, int]]) -> Optional[torch.Tensor]:
    if tensor is None:
        return None
    if len(spans) == 1:
        return tensor[spans[0][0]: spans[0][1]]
    return torch.cat([tensor[a:b] for a, b in spans])


def _part_trial_ids(dataset: Any, spans: List[Tuple[int, int]], by: str) -> Optional[torch.Tensor]:
    trial_ids = dataset.trial_ids
    if by == "trial" or len(spans) == 1:
        return _gather(trial_ids, spans)
    # Several separate blocks of time: each block (and each trial piece in it) becomes its own trial.
    block = torch.cat([torch.full((b - a,), k, dtype=torch.long) for k, (a, b) in enumerate(spans)])
    if trial_ids is None:
        return block.to(dataset.device)
    pieces = torch.stack([block.to(trial_ids.device), _gather(trial_ids, spans)], dim=1)
    new_piece = torch.ones(len(pieces), dtype=torch.bool, device=trial_ids.device)
    new_piece[1:] = (pieces[1:] != pieces[:-1]).any(dim=1)
    return torch.cumsum(new_piece.long(), 0) - 1


def _make_part(dataset: Any, blocks: List[Block], part: int, name: str, by: str) -> Any:
    spans: List[Tuple[int, int]] = []
    for a, b, p in sorted(blocks):
        if p != part:
            continue
        if spans and spans[-1][1] == a and by == "time":  # touching ranges form one block
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    if not spans:
        raise ValueError(f"part {name!r} received no time steps.")
    index = torch.cat([torch.arange(a, b) for a, b in spans]).to(dataset.device)
    source = dataset.source_index[index] if dataset.source_index is not None else index
    return dataset.replace(
        neural=_gather(dataset.neural, spans),
        continuous=_gather(dataset.continuous, spans),
        discrete=_gather(dataset.discrete, spans),
        trial_ids=_part_trial_ids(dataset, spans, by),
        neural_missing=_gather(dataset.neural_missing, spans),
        split_part=name,
        held_out=part > 0 or dataset.held_out,
        source_index=source,
    )


def _unassigned(
    n: int, blocks: List[Block], session: Optional[int], names: Tuple[str, ...], explicit: bool
) -> List[Dict[str, Any]]:
    gaps = []
    cursor = 0
    previous = None
    for start, stop, part in sorted(b for b in blocks if b[2] >= 0):
        if start > cursor:
            reason = "unassigned" if explicit else "gap"
            gaps.append({
                "session": session, "start": cursor, "stop": start, "length": start - cursor,
                "reason": reason,
                "between": (names[previous] if previous is not None else None, names[part]),
            })
        cursor, previous = max(cursor, stop), part
    if cursor < n:
        gaps.append({"session": session, "start": cursor, "stop": n, "length": n - cursor,
                     "reason": "unassigned", "between": (names[previous], None)})
    return gaps


def _split_single(
    dataset: Any, fractions: Optional[np.ndarray], by: str, names: Optional[Tuple[str, ...]],
    rng: Optional[np.random.Generator], num_blocks: Optional[int], parts: Optional[Mapping[str, Any]],
    gap: Optional[int], session: Optional[int],
) -> Tuple[Tuple[str, ...], List[Any], List[Dict[str, Any]], List[int], int]:
    if not isinstance(dataset, TensorDataset):
        where = "" if session is None else f" (session {session})"
        raise TypeError(
            f"split_dataset supports TensorDataset and collections of them, but got a "
            f"{type(dataset).__name__}{where}."
        )
    n = len(dataset)
    window = len(dataset.offset)
    if by == "trial":
        if dataset.trial_ids is None:
            where = "the dataset" if session is None else f"session {session}"
            raise ValueError(
                f"by='trial' needs trial_ids, but {where} has none; build it with trial_ids=... "
                "or TensorDataset.from_trials, or split by='time'."
            )
        names, blocks, assignment = _trial_blocks(dataset.trial_ids, fractions, parts, rng, names)
        used_gap = 0
    else:
        used_gap = window if gap is None else gap
        if parts is not None:
            names, blocks = _explicit_time_blocks(n, parts, window - 1, gap)
        else:
            blocks = _time_blocks(n, fractions, num_blocks, used_gap, window, rng, names)
        assignment = [p for _, _, p in blocks]
    datasets = [_make_part(dataset, blocks, p, name, by) for p, name in enumerate(names)]
    gaps = _unassigned(n, blocks, session, names, explicit=parts is not None)
    return names, datasets, gaps, assignment, used_gap


def split_dataset(
    dataset: Any,
    fractions: Optional[Sequence[float]] = None,
    *,
    by: str = "time",
    names: Optional[Sequence[str]] = None,
    seed: Optional[int] = None,
    num_blocks: Optional[int] = None,
    parts: Optional[Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]] = None,
    gap: Optional[int] = None,
) -> DatasetSplit:
    """Split a dataset into training and held-out parts that share no window.

    **By time** (``by="time"``), without ``num_blocks``: the recording is cut
    into one contiguous block per part, in the order of ``names`` (the
    training part first, then validation, then test), with ``gap`` time steps
    left out at every cut. The block lengths are ``fractions`` of the
    ``N - gap * (parts - 1)`` time steps that remain, rounded by the largest
    remainder. Nothing is random.

    With ``num_blocks=K``: the recording is cut into ``K`` blocks of equal
    length (up to one step) separated by ``gap`` time steps, and the blocks
    are assigned to the parts by a seeded random permutation, part ``p``
    receiving ``round(fractions[p] * K)`` blocks (largest remainder, at least
    one). A part made of several blocks marks each block as a trial, so its
    windows never join two blocks. This spreads every part over the whole
    session, against slow drifts.

    **By trial** (``by="trial"``): whole trials are assigned to the parts by a
    seeded random permutation, part ``p`` receiving ``round(fractions[p] *
    T)`` of the ``T`` trials (largest remainder, at least one); fractions
    count trials, not time steps. Trials keep their ids. No gap is needed
    and none is dropped: windows never cross a trial border.

    **Explicit parts** replace ``fractions``: ``parts={"train": (0, 800),
    "test": [(820, 900), (950, 1000)]}`` gives ``(start, stop)`` ranges of
    time steps by time, or ``parts={"train": [0, 2, 3], "test": [1]}`` lists
    trial ids by trial. The first entry is the training part. Ranges of
    different parts must be at least ``len(offset) - 1`` (or ``gap``) steps
    apart, or an error is raised; steps or trials in no part are reported
    as ``"unassigned"`` in :attr:`DatasetSplit.gaps`.

    Every time step that no part receives is listed in
    :attr:`DatasetSplit.gaps` (and counted in :attr:`DatasetSplit.dropped`).
    A :class:`~cebra_data.DatasetCollection` is split session by session
    with the same settings (``parts`` may also be one mapping per session;
    session ``s`` draws from a seed derived from ``seed``), and every part is
    a collection of the same type.

    Args:
        dataset: a :class:`~cebra_data.TensorDataset` or a collection of them.
        fractions: the share of each part, positive and summing to 1; default
            ``(0.8, 0.1, 0.1)``. Not allowed together with ``parts``.
        by: ``"time"`` or ``"trial"``.
        names: the part names; default ``("train", "test")`` for two parts and
            ``("train", "validation", "test")`` for three. The first part is
            the training part, every other part is marked ``held_out``.
        seed: ``None`` or a non-negative integer, the seed of the random
            assignment (``num_blocks`` or ``by="trial"``); ``None`` draws one
            from the operating system and records it in
            :attr:`DatasetSplit.seed`, so any split can be repeated. A split
            with nothing random (contiguous blocks by time, or explicit
            ``parts``) checks the seed but does not use it, and its
            :attr:`DatasetSplit.seed` is ``None``.
        num_blocks: the number of time blocks to shuffle (``by="time"`` only).
        parts: explicit parts, see above.
        gap: time steps left out at every cut (``by="time"``); default
            ``len(offset)``, minimum ``len(offset) - 1``.

    Returns:
        A :class:`DatasetSplit`: a tuple of the parts with ``names``,
        ``gaps``, ``dropped``, ``gap`` and ``seed``.

    Raises:
        ValueError: for fractions that are not positive or do not sum to 1, a
            negative seed, a gap below ``len(offset) - 1``, too short a
            recording, too few trials or blocks, a trial split of a dataset
            without trials, overlapping or too close explicit ranges, or
            unknown trials.
        TypeError: for an unsupported dataset type, fractions that are not a
            sequence of numbers (a mapping, text, booleans), or a seed that is
            not an integer.

    Example:
        >>> import numpy as np, cebra_data
        >>> ds = cebra_data.TensorDataset(np.zeros((1000, 5)), continuous=np.zeros(1000),
        ...                               offset=(5, 5))
        >>> train, validation, test = split = cebra_data.split_dataset(ds)
        >>> len(train), len(validation), len(test), split.dropped
        (784, 98, 98, 20)
        >>> [(g["start"], g["stop"]) for g in split.gaps]
        [(784, 794), (892, 902)]
        >>> test.split_part, test.held_out, int(test.source_index[0])
        ('test', True, 902)
    """
    if not isinstance(dataset, (TensorDataset, MultiSessionDataset)):
        raise TypeError(
            "split_dataset supports TensorDataset and collections of them (e.g. a DatasetCollection) "
            f"as dataset, but got a {type(dataset).__name__}."
        )
    by = check_choice(by, "by", SPLIT_BY)
    seed = _check_seed(seed)
    if parts is not None and fractions is not None:
        raise ValueError("pass either fractions or explicit parts, not both.")
    if parts is None:
        fractions_a = _check_fractions((0.8, 0.1, 0.1) if fractions is None else fractions)
        names_t = _check_names(names, fractions_a.size)
    else:
        fractions_a = None
        if names is not None:
            raise ValueError("with explicit parts, the part names are the keys of parts; drop names.")
        names_t = None
    if num_blocks is not None:
        if by != "time":
            raise ValueError("num_blocks applies to by='time'; a trial split assigns whole trials.")
        if parts is not None:
            raise ValueError("num_blocks cannot be combined with explicit parts.")
        num_blocks = check_int(num_blocks, "num_blocks", minimum=fractions_a.size)
    window = len(dataset.offset)
    if gap is not None:
        if by == "trial":
            raise ValueError("gap applies to by='time'; trials are never joined by a window, so a "
                             "trial split drops nothing.")
        gap = check_int(gap, "gap", minimum=0)
        if gap < window - 1:
            raise ValueError(
                f"gap should be at least len(offset) - 1 = {window - 1} time steps so that no window "
                f"is shared between parts, but got gap={gap}."
            )
    random = parts is None and (by == "trial" or num_blocks is not None)
    used_seed = _resolve_seed(seed) if random else None
    for record in getattr(dataset, "normalization", ()) or ():
        if record.get("fitted_on") is None:
            warnings.warn(
                "this dataset was normalised with statistics of the whole, unsplit recording, so "
                "its held-out parts leak into the training statistics; split first, then fit a "
                "Normalizer on the training part.",
                MethodologyWarning,
                stacklevel=2,
            )
            break

    if isinstance(dataset, MultiSessionDataset):
        sessions = list(dataset.iter_sessions())
        if parts is not None and not isinstance(parts, Mapping):
            parts_list = list(parts)
            if len(parts_list) != len(sessions):
                raise ValueError(
                    f"parts should be one mapping, or one mapping per session ({len(sessions)}), "
                    f"but got {len(parts_list)}."
                )
        else:
            parts_list = [parts] * len(sessions)
        children = np.random.SeedSequence(used_seed).spawn(len(sessions)) if random else [None] * len(sessions)
        results = []
        for s, (session, session_parts, child) in enumerate(zip(sessions, parts_list, children)):
            rng = np.random.default_rng(child) if random else None
            results.append(_split_single(session, fractions_a, by, names_t, rng, num_blocks,
                                         session_parts, gap, s))
        all_names = {r[0] for r in results}
        if len(all_names) > 1:
            raise ValueError(f"every session must have the same part names, but got {sorted(all_names)}.")
        names_t = results[0][0]
        collections = [type(dataset)([r[1][p] for r in results]) for p in range(len(names_t))]
        return DatasetSplit(
            collections, names=names_t, by=by, gaps=[g for r in results for g in r[2]],
            gap=results[0][4], seed=used_seed, assignment=[r[3] for r in results],
        )
    rng = np.random.default_rng(used_seed) if random else None
    if parts is not None and not isinstance(parts, Mapping):
        raise TypeError(f"parts should be a mapping from part name to ranges or trials, but got "
                        f"{type(parts).__name__}.")
    names_t, datasets, gaps, assignment, used_gap = _split_single(
        dataset, fractions_a, by, names_t, rng, num_blocks, parts, gap, None
    )
    return DatasetSplit(datasets, names=names_t, by=by, gaps=gaps, gap=used_gap, seed=used_seed,
                        assignment=[assignment])
