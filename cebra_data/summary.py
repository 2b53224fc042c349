"""A summary of any dataset or collection: what it holds, what is excluded, how it was prepared.

:func:`describe` (also :meth:`cebra_data.Dataset.describe`) returns a
:class:`DatasetSummary`, a plain ``dict`` whose ``str()`` is a readable report.
Everything that the library drops, masks or rescales shows up here: excluded
time steps and their reasons, trials too short for the window, the split part a
dataset is, and the statistics of every normalisation.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import torch

__all__ = ["DatasetSummary", "describe"]

#: At most this many discrete labels are listed in the text form (the dict keeps all).
_MAX_LABELS_SHOWN = 8


class DatasetSummary(dict):
    """The summary of a dataset: a ``dict`` whose ``str()`` is a readable report.

    Keys of a single session: ``kind``, ``length``, ``input_dimension``,
    ``offset``, ``device``, ``continuous``, ``discrete``, ``trials``,
    ``excluded``, ``sampleable``, ``neurons``, ``split_part``, ``held_out``,
    ``normalization``. A multi-session dataset has ``kind``, ``num_sessions``,
    ``length``, ``input_dimensions``, ``offset``, ``device``, ``excluded``,
    ``sampleable`` and ``sessions`` (one single-session summary each).
    """

    def __str__(self) -> str:
        return "\n".join(_text(self))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the text form
        printer.text(str(self))


def _offset_summary(dataset: Any) -> Dict[str, int]:
    left, right = dataset.offset
    return {"left": int(left), "right": int(right), "length": int(left + right)}


def _trials_summary(dataset: Any, window: int) -> Optional[Dict[str, Any]]:
    trial_ids = dataset.trial_ids
    if trial_ids is None:
        return None
    ids = trial_ids.detach().cpu()
    _, lengths = torch.unique_consecutive(ids, return_counts=True)
    lengths = lengths.tolist()
    return {
        "count": len(lengths),
        "min_length": min(lengths),
        "max_length": max(lengths),
        "mean_length": sum(lengths) / len(lengths),
        "shorter_than_window": sum(length < window for length in lengths),
    }


def _stat_range(values: torch.Tensor) -> List[float]:
    values = values.detach().cpu().float()
    return [float(values.min()), float(values.max())]


def _single(dataset: Any) -> DatasetSummary:
    n = len(dataset)
    offset = _offset_summary(dataset)
    continuous = dataset.continuous_index
    discrete = dataset.discrete_index
    summary = DatasetSummary(kind=type(dataset).__name__, length=n)
    summary["input_dimension"] = int(dataset.input_dimension)
    summary["offset"] = offset
    summary["device"] = dataset.device
    summary["continuous"] = None
    if continuous is not None:
        summary["continuous"] = {
            "dimension": int(continuous.shape[1]),
            "missing": int(torch.isnan(continuous).any(dim=1).sum()),
        }
    summary["discrete"] = None
    if discrete is not None:
        labels, counts = torch.unique(discrete.detach().cpu(), return_counts=True)
        summary["discrete"] = {
            "num_labels": int(labels.numel()),
            "counts": {int(k): int(c) for k, c in zip(labels.tolist(), counts.tolist())},
        }
    summary["trials"] = _trials_summary(dataset, offset["length"])
    excluded = dataset.excluded_mask
    summary["excluded"] = {
        "total": 0 if excluded is None else int(excluded.sum()),
        "missing_label": int(getattr(dataset, "num_missing_labels", summary["continuous"]["missing"]
                                     if summary["continuous"] else 0)),
        "missing_neural": int(getattr(dataset, "num_missing_neural", 0)),
    }
    summary["sampleable"] = int(dataset.sample_mask().sum())
    meta = getattr(dataset, "neuron_meta", None)
    source = getattr(dataset, "source_neurons", None)
    summary["neurons"] = {
        "count": int(dataset.input_dimension),
        "meta_keys": sorted({k for record in meta for k in record}, key=str) if meta else [],
        "source_neurons": source.tolist() if source is not None else None,
    }
    summary["split_part"] = getattr(dataset, "split_part", None)
    summary["held_out"] = bool(getattr(dataset, "held_out", False))
    summary["normalization"] = [
        {
            "target": record["target"],
            "method": record["method"],
            "fitted_on": record.get("fitted_on"),
            "location": record["location"].detach().cpu().tolist(),
            "scale": record["scale"].detach().cpu().tolist(),
        }
        for record in getattr(dataset, "normalization", ())
    ]
    return summary


def describe(dataset: Any, as_text: bool = False) -> Union[DatasetSummary, str]:
    """Summarise a dataset or a multi-session collection.

    Args:
        dataset: a :class:`~cebra_data.Dataset` (single- or multi-session).
        as_text: return the readable text instead of the dict.

    Returns:
        A :class:`DatasetSummary` (a ``dict``; ``str()`` gives the text), or
        the text itself.

    Raises:
        TypeError: for something that is not a dataset.

    Example:
        >>> import numpy as np, cebra_data
        >>> ds = cebra_data.TensorDataset(np.zeros((100, 4)), discrete=np.arange(100) % 2,
        ...                               trial_ids=np.repeat([0, 1], 50), offset=(2, 3))
        >>> summary = cebra_data.describe(ds)
        >>> summary["trials"]["count"], summary["sampleable"], summary["discrete"]["counts"]
        (2, 92, {0: 50, 1: 50})
        >>> print(ds.describe(as_text=True))
        TensorDataset: 100 time steps, 4 features, Offset(2, 3) (window 5), device cpu
          discrete index: 2 labels (0: 50, 1: 50)
          trials: 2, lengths 50 .. 50 (mean 50.0)
          sampleable: 92 of 100 time steps; excluded: 0
          neurons: 4, no metadata
    """
    # Duck-typed on purpose: this module sits beside cebra_data.base (which
    # calls it from Dataset.describe), so it cannot import the dataset classes.
    if not all(hasattr(dataset, name) for name in ("sample_mask", "offset", "load_batch")):
        raise TypeError(
            f"describe expects a cebra_data.Dataset, but got {type(dataset).__name__}."
        )
    if callable(getattr(dataset, "iter_sessions", None)):
        sessions = [_single(s) for s in dataset.iter_sessions()]
        summary = DatasetSummary(
            kind=type(dataset).__name__,
            num_sessions=len(sessions),
            length=sum(s["length"] for s in sessions),
            input_dimensions=[s["input_dimension"] for s in sessions],
            offset=_offset_summary(dataset),
            device=dataset.device,
            excluded=sum(s["excluded"]["total"] for s in sessions),
            sampleable=sum(s["sampleable"] for s in sessions),
            sessions=sessions,
        )
    else:
        summary = _single(dataset)
    return str(summary) if as_text else summary


def _offset_text(offset: Dict[str, int]) -> str:
    return f"Offset({offset['left']}, {offset['right']}) (window {offset['length']})"


def _text(summary: Dict[str, Any], indent: str = "") -> List[str]:
    if "sessions" in summary:
        lines = [
            f"{indent}{summary['kind']}: {summary['num_sessions']} sessions, {summary['length']} "
            f"time steps, {_offset_text(summary['offset'])}, device {summary['device']}",
            f"{indent}  sampleable: {summary['sampleable']} of {summary['length']} time steps; "
            f"excluded: {summary['excluded']}",
        ]
        for i, session in enumerate(summary["sessions"]):
            lines.append(f"{indent}  session {i}:")
            lines += _text(session, indent + "    ")
        return lines
    head = (
        f"{indent}{summary['kind']}: {summary['length']} time steps, {summary['input_dimension']} "
        f"features, {_offset_text(summary['offset'])}, device {summary['device']}"
    )
    lines = [head]
    if summary.get("split_part") is not None:
        role = "held out" if summary["held_out"] else "training part"
        lines.append(f"{indent}  split part: {summary['split_part']!r} ({role})")
    if summary["continuous"] is not None:
        c = summary["continuous"]
        lines.append(f"{indent}  continuous index: {c['dimension']} dimension(s), {c['missing']} missing (NaN)")
    if summary["discrete"] is not None:
        d = summary["discrete"]
        shown = list(d["counts"].items())[:_MAX_LABELS_SHOWN]
        listing = ", ".join(f"{k}: {v}" for k, v in shown)
        if d["num_labels"] > _MAX_LABELS_SHOWN:
            listing += ", ..."
        lines.append(f"{indent}  discrete index: {d['num_labels']} labels ({listing})")
    if summary["trials"] is not None:
        t = summary["trials"]
        line = (f"{indent}  trials: {t['count']}, lengths {t['min_length']} .. {t['max_length']} "
                f"(mean {t['mean_length']:.1f})")
        if t["shorter_than_window"]:
            line += f"; {t['shorter_than_window']} shorter than the window (no sample drawn from them)"
        lines.append(line)
    e = summary["excluded"]
    line = f"{indent}  sampleable: {summary['sampleable']} of {summary['length']} time steps; excluded: {e['total']}"
    reasons = []
    if e["missing_label"]:
        reasons.append(f"{e['missing_label']} missing continuous labels")
    if e["missing_neural"]:
        reasons.append(f"windows touching {e['missing_neural']} time steps with missing neural values")
    if reasons:
        line += " (" + "; ".join(reasons) + ")"
    lines.append(line)
    neurons = summary["neurons"]
    keys = ", ".join(map(str, neurons["meta_keys"])) if neurons["meta_keys"] else "no metadata"
    line = f"{indent}  neurons: {neurons['count']}, {keys}"
    source = neurons["source_neurons"]
    if source is not None and source != list(range(neurons["count"])):
        line += f" (selected columns {source[:10]}{' ...' if len(source) > 10 else ''})"
    lines.append(line)
    for record in summary["normalization"]:
        loc, scale = record["location"], record["scale"]
        lines.append(
            f"{indent}  normalisation: {record['method']} of {record['target']}, fitted on "
            f"{record['fitted_on'] or 'an unsplit dataset'}; location {min(loc):.4g} .. "
            f"{max(loc):.4g}, scale {min(scale):.4g} .. {max(scale):.4g}"
        )
    return lines
