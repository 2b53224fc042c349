"""Per-neuron metadata and neuron selection for in-memory datasets (layer L3).

:class:`NeuronMetadata` gives :class:`cebra_data.TensorDataset` its
``neuron_meta``, ``source_neurons``, ``with_neuron_meta`` and
``select_neurons``; :func:`match_neurons` is the selection rule, shared with
:meth:`cebra_data.DatasetCollection.select_neurons`.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch

__all__ = [
    "NeuronMetadata",
    "check_neuron_meta",
    "match_neurons",
    "check_selection_criteria",
    "check_selection_keys",
]


def check_neuron_meta(neuron_meta: Any, num_neurons: int) -> Optional[List[Dict[str, Any]]]:
    """Per-neuron metadata as a list of ``num_neurons`` fresh dicts (``None`` passes through)."""
    if neuron_meta is None:
        return None
    if hasattr(neuron_meta, "to_dict") and hasattr(neuron_meta, "columns"):  # a pandas DataFrame
        records = neuron_meta.to_dict("records")
    elif isinstance(neuron_meta, (list, tuple)):
        records = list(neuron_meta)
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(
                    "neuron_meta should be a list of dicts (one per neuron) or a pandas "
                    f"DataFrame, but entry {i} is a {type(record).__name__}."
                )
    else:
        raise TypeError(
            "neuron_meta should be a list of dicts (one per neuron) or a pandas DataFrame, "
            f"but got {type(neuron_meta).__name__}."
        )
    if len(records) != num_neurons:
        raise ValueError(
            f"neuron_meta should describe every neuron (neural has {num_neurons} features), "
            f"but got {len(records)} entries."
        )
    return [dict(record) for record in records]


_ABSENT = object()


def match_neurons(
    meta: Optional[List[Dict[str, Any]]],
    predicate: Optional[Callable[[Dict[str, Any]], Any]],
    attributes: Dict[str, Any],
) -> Tuple[List[bool], set, bool, bool]:
    """Which neurons match, the keys seen, whether the predicate ever ran, whether any neuron
    passed the attribute filter.

    A neuron whose metadata lacks an attribute's key is not selected; a
    predicate raising ``KeyError`` for a key the neuron lacks is "not selected"
    too. The caller decides whether a key that no neuron has is an error.
    """
    keys: set = set()
    predicate_ran = any_candidate = False
    selected = []
    for record in meta or []:
        keys.update(record)
        keep = all(record.get(k, _ABSENT) is not _ABSENT and bool(record[k] == v)
                   for k, v in attributes.items())
        any_candidate = any_candidate or keep
        if keep and predicate is not None:
            try:
                keep = bool(predicate(record))
                predicate_ran = True
            except KeyError as err:
                if err.args and err.args[0] in record:
                    raise
                keep = False
        selected.append(keep)
    return selected, keys, predicate_ran, any_candidate


def check_selection_criteria(predicate: Any, attributes: Dict[str, Any]) -> None:
    """Raise unless ``select_neurons`` got a callable predicate and/or ``attribute=value`` criteria."""
    if predicate is None and not attributes:
        raise ValueError("select_neurons needs a predicate and/or attribute=value criteria.")
    if predicate is not None and not callable(predicate):
        raise TypeError(
            f"predicate should be a function of a neuron's metadata dict, but got "
            f"{type(predicate).__name__}."
        )


def check_selection_keys(
    attributes: Dict[str, Any], keys: set, predicate: Any, predicate_ran: bool, any_candidate: bool
) -> None:
    available = ", ".join(repr(k) for k in sorted(keys, key=str)) or "none"
    unknown = [k for k in attributes if k not in keys]
    if unknown:
        raise KeyError(
            f"select_neurons: no neuron has the metadata key(s) {unknown}; available keys: "
            f"{available}."
        )
    if predicate is not None and any_candidate and not predicate_ran:
        raise KeyError(
            "select_neurons: the predicate raised KeyError for every neuron, so it looks up a "
            f"key that no neuron has; available keys: {available}. Use record.get(key, default) "
            "for keys only some neurons have."
        )


class NeuronMetadata:
    """Mixin: per-neuron metadata of a dataset, and selection of neurons by it.

    The dataset stores ``_neuron_meta`` (a list of dicts, or ``None``) and
    ``_source_neurons`` and offers ``neural``, ``normalization``,
    ``input_dimension`` and ``replace(...)``.
    """

    @property
    def neuron_meta(self) -> Optional[List[Dict[str, Any]]]:
        """Per-neuron metadata (a list of ``input_dimension`` dicts, copies), or ``None``."""
        if self._neuron_meta is None:
            return None
        return [dict(record) for record in self._neuron_meta]

    @property
    def source_neurons(self) -> torch.Tensor:
        """The original column of every neuron, after any :meth:`select_neurons`."""
        if self._source_neurons is None:
            return torch.arange(self.input_dimension)
        return self._source_neurons

    def with_neuron_meta(self, **columns: Any) -> "NeuronMetadata":
        """A new dataset whose :attr:`neuron_meta` has extra (or replaced) keys.

        Args:
            **columns: ``key=values`` with one value per neuron (a list, numpy
                array or 1-D tensor of length :attr:`input_dimension`), e.g.
                the output of :func:`cebra_data.preprocessing.quality.neuron_quality`.

        Returns:
            A new dataset sharing this one's tensors.

        Raises:
            ValueError: if a column does not have one value per neuron.

        Example:
            >>> import numpy as np, cebra_data
            >>> ds = cebra_data.TensorDataset(np.zeros((20, 3)), discrete=np.zeros(20, dtype=int))
            >>> ds.with_neuron_meta(area=["V1", "V1", "LM"]).neuron_meta[2]
            {'area': 'LM'}
        """
        records = self.neuron_meta or [{} for _ in range(self.input_dimension)]
        for key, values in columns.items():
            if isinstance(values, torch.Tensor):
                values = values.detach().cpu().numpy()
            values = list(values.tolist() if isinstance(values, np.ndarray) else values)
            if len(values) != self.input_dimension:
                raise ValueError(
                    f"neuron metadata column {key!r} should have one value per neuron "
                    f"({self.input_dimension}), but got {len(values)}."
                )
            for record, value in zip(records, values):
                record[key] = value
        return self.replace(neuron_meta=records)

    def neuron_matches(self, predicate: Any, attributes: Dict[str, Any]) -> Tuple[List[bool], set, bool, bool]:
        """Which neurons match ``predicate`` and ``attributes`` (see :func:`match_neurons`)."""
        return match_neurons(self._neuron_meta, predicate, attributes)

    def select_neurons(
        self,
        predicate: Optional[Callable[[Dict[str, Any]], Any]] = None,
        **attributes: Any,
    ) -> "NeuronMetadata":
        """A new dataset with the neurons whose metadata match.

        A neuron is kept when ``record[key] == value`` for every ``key=value``
        in ``attributes`` and ``predicate(record)`` is true, where ``record``
        is its :attr:`neuron_meta` dict. A neuron whose record lacks one of the
        keys is **not selected** (also when the predicate raises ``KeyError``
        for a key the record lacks), so one call works on sessions with
        different metadata; a key that *no* neuron has is an error, since it
        is almost always a typo.

        The new dataset shares labels, trials and offset, holds a copy of the
        selected columns, keeps the matching part of every neural
        normalisation, and records the original columns in
        :attr:`source_neurons`.

        Args:
            predicate: a function of one neuron's metadata dict.
            **attributes: required metadata values.

        Returns:
            A new dataset of the same class.

        Raises:
            ValueError: without :attr:`neuron_meta`, without any criterion, or
                when no neuron matches.
            KeyError: for a key that no neuron's metadata has.

        Example:
            >>> import numpy as np, cebra_data
            >>> meta = [{"area": "V1", "snr": 0.9}, {"area": "V1", "snr": 0.1}, {"area": "LM"}]
            >>> ds = cebra_data.TensorDataset(np.zeros((20, 3)), discrete=np.zeros(20, dtype=int),
            ...                               neuron_meta=meta)
            >>> ds.select_neurons(area="V1").input_dimension
            2
            >>> ds.select_neurons(lambda n: n["snr"] > 0.5).source_neurons.tolist()
            [0]
        """
        check_selection_criteria(predicate, attributes)
        if self._neuron_meta is None:
            raise ValueError(
                "select_neurons needs per-neuron metadata: build the dataset with neuron_meta=... "
                "or add columns with with_neuron_meta(...)."
            )
        selected, keys, ran, candidates = self.neuron_matches(predicate, attributes)
        check_selection_keys(attributes, keys, predicate, ran, candidates)
        return self._take_neurons(selected)

    def _take_neurons(self, selected: List[bool]) -> "NeuronMetadata":
        keep = torch.tensor(selected, dtype=torch.bool)
        if not bool(keep.any()):
            raise ValueError(
                f"select_neurons matched none of the {self.input_dimension} neurons; a dataset "
                "needs at least one."
            )
        columns = keep.nonzero().flatten()
        normalization = []
        for record in self.normalization:
            if record["target"] == "neural":
                record = dict(record, location=record["location"][columns.to(record["location"].device)],
                              scale=record["scale"][columns.to(record["scale"].device)])
            normalization.append(record)
        return self.replace(
            neural=self.neural[:, columns.to(self.neural.device)].contiguous(),
            neuron_meta=[self._neuron_meta[int(c)] for c in columns] if self._neuron_meta else None,
            normalization=tuple(normalization),
            source_neurons=self.source_neurons[columns],
        )
