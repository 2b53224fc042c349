"""Normalisation fitted on the training part and applied to every part.

A :class:`Normalizer` learns per-feature statistics from one dataset (``fit``)
and rescales any dataset with them (``transform``), returning a new dataset:
the input is never modified. Statistics fitted on the training part and applied
to validation and test parts keep held-out data out of the statistics; fitting
on a held-out part of a split (see :func:`cebra_data.split_dataset`) raises
:class:`~cebra_data.errors.HeldOutFitError` unless ``allow_test=True`` says it is intended.

Every transformed dataset records what was applied in its ``normalization``
tuple (method, target, location, scale, the part it was fitted on), which
:meth:`~cebra_data.Dataset.describe` reports and :meth:`Normalizer.inverse_transform`
undoes.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from cebra_data._validation import check_choice
from cebra_data.datasets import TensorDataset
from cebra_data.errors import DataChangedWarning, HeldOutFitError, MissingIndexError
from cebra_data.multi_session import MultiSessionDataset

__all__ = ["Normalizer", "HeldOutFitError", "NORMALIZATION_METHODS", "NORMALIZATION_TARGETS"]

#: The values of ``Normalizer(method=...)``.
NORMALIZATION_METHODS = ("zscore", "max")
#: The values of ``Normalizer(target=...)``.
NORMALIZATION_TARGETS = ("neural", "continuous")


def _values_and_rows(dataset: Any, target: str) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """The values to fit on and, for the neural signal, the rows that are real data."""
    if target == "neural":
        missing = getattr(dataset, "neural_missing", None)
        return dataset.neural, (None if missing is None else ~missing)
    if dataset.continuous_index is None:
        raise MissingIndexError(
            "Normalizer(target='continuous') needs a continuous index, but the dataset has none."
        )
    return dataset.continuous_index, None


def _statistics(values: torch.Tensor, method: str) -> Tuple[torch.Tensor, torch.Tensor, List[int]]:
    """NaN-aware per-column location and scale in float64; columns with no finite value raise."""
    values = values.detach().to(torch.float64)
    finite = torch.isfinite(values)
    count = finite.sum(dim=0)
    if bool((count == 0).any()):
        empty = (count == 0).nonzero().flatten().tolist()
        raise ValueError(
            f"cannot fit normalisation statistics: column(s) {empty[:10]} have no finite value "
            "in the fitted dataset."
        )
    zeros = torch.zeros((), dtype=values.dtype, device=values.device)
    filled = torch.where(finite, values, zeros)
    if method == "zscore":
        location = filled.sum(dim=0) / count
        centred = torch.where(finite, values - location, zeros)
        scale = torch.sqrt((centred**2).sum(dim=0) / count)
    else:
        location = torch.zeros(values.shape[1], dtype=values.dtype, device=values.device)
        scale = filled.abs().max(dim=0).values
    constant = (scale == 0).nonzero().flatten().tolist()
    scale = torch.where(scale == 0, torch.ones((), dtype=scale.dtype, device=scale.device), scale)
    return location, scale, constant


class Normalizer:
    """Per-feature normalisation of the neural signal or of the continuous index.

    ``method="zscore"`` subtracts the mean and divides by the standard
    deviation (population, ``1/n``) of each feature; ``method="max"`` divides
    each feature by its largest absolute value (location 0), which keeps zero
    and signs, e.g. for spike counts. Statistics are computed in float64 over
    the fitted dataset's time steps, NaN-aware: NaN continuous labels are
    skipped, and so are the rows of missing neural values of a dataset built
    with ``neural_nan="mask"``. A feature that is constant in the fitted data
    gets scale 1 (it is only centred) and a warning names it.

    Sessions of a collection have different neurons, so ``target="neural"``
    fits one set of statistics per session; the continuous index is one
    behaviour space shared by all sessions, so ``target="continuous"`` pools
    every session's labels into one set of statistics.

    Args:
        method: ``"zscore"`` or ``"max"``.
        target: ``"neural"`` (the signal) or ``"continuous"`` (the continuous index).

    Attributes:
        location_: the subtracted location, a float32 ``(D,)`` tensor (for a
            collection fitted on the neural signal, a list of them, one per session).
        scale_: the divisor, same layout as ``location_``.
        fitted_on: the split part name of the fitted dataset (``None`` if it
            was not produced by :func:`~cebra_data.split_dataset`).
        constant_features_: columns that were constant in the fitted data.

    Example:
        >>> import numpy as np, cebra_data
        >>> rng = np.random.default_rng(0)
        >>> ds = cebra_data.TensorDataset(rng.normal(3.0, 2.0, size=(1000, 4)),
        ...                               continuous=np.zeros(1000))
        >>> train, test = cebra_data.split_dataset(ds, fractions=(0.8, 0.2))
        >>> scaler = cebra_data.Normalizer("zscore").fit(train)
        >>> train_z, test_z = scaler.transform(train), scaler.transform(test)
        >>> bool(train_z.neural.mean(0).abs().max() < 1e-5)
        True
        >>> np.allclose(train_z.neural.std(0, unbiased=False).numpy(), 1.0, atol=1e-5)
        True
        >>> test_z.normalization[0]["fitted_on"]
        'train'
        >>> scaler.fit(test)
        Traceback (most recent call last):
        ...
        cebra_data.errors.HeldOutFitError: the dataset is 'test', a held-out part of a split: ...
    """

    location_: Union[torch.Tensor, List[torch.Tensor]]
    scale_: Union[torch.Tensor, List[torch.Tensor]]

    def __init__(self, method: str = "zscore", target: str = "neural") -> None:
        self.method = check_choice(method, "method", NORMALIZATION_METHODS)
        self.target = check_choice(target, "target", NORMALIZATION_TARGETS)
        self._fitted = False
        self._per_session: Optional[int] = None
        self.fitted_on: Optional[str] = None
        self.constant_features_: Any = None

    def __repr__(self) -> str:
        state = f", fitted_on={self.fitted_on!r}" if self._fitted else ", unfitted"
        return f"Normalizer(method={self.method!r}, target={self.target!r}{state})"

    # -- fit ------------------------------------------------------------------------------

    def fit(self, dataset: Any, *, allow_test: bool = False) -> "Normalizer":
        """Learn the statistics from ``dataset`` (typically the training part).

        Args:
            dataset: a :class:`~cebra_data.TensorDataset` or a collection of them.
            allow_test: fit even though ``dataset`` is a held-out part of a
                split. Statistics of held-out data then shape the training
                data: only do this on purpose (e.g. to normalise each part on
                its own, deliberately). The record on every transformed
                dataset keeps the name of the part it was fitted on.

        Returns:
            The normaliser itself.

        Raises:
            HeldOutFitError: if ``dataset`` is a held-out part and ``allow_test`` is false.
            MissingIndexError: for ``target="continuous"`` without a continuous index.
            ValueError: if a feature has no finite value.
        """
        if getattr(dataset, "held_out", False) and not allow_test:
            raise HeldOutFitError(
                f"the dataset is {getattr(dataset, 'split_part', None)!r}, a held-out part of a "
                "split: fitting normalisation statistics on it leaks held-out data into the "
                "model's input. Fit on the training part, or pass allow_test=True if this is "
                "intended."
            )
        if isinstance(dataset, MultiSessionDataset):
            sessions = list(dataset.iter_sessions())
            for session in sessions:
                _check_supported(session)
            if self.target == "neural":
                stats = [self._fit_values(*_values_and_rows(s, "neural")) for s in sessions]
                self.location_ = [loc for loc, _, _ in stats]
                self.scale_ = [scale for _, scale, _ in stats]
                self.constant_features_ = [c for _, _, c in stats]
                self._per_session = len(sessions)
            else:
                values = torch.cat([_values_and_rows(s, "continuous")[0].cpu() for s in sessions])
                self.location_, self.scale_, self.constant_features_ = self._fit_values(values, None)
                self._per_session = None
        else:
            _check_supported(dataset)
            self.location_, self.scale_, self.constant_features_ = self._fit_values(
                *_values_and_rows(dataset, self.target)
            )
            self._per_session = None
        self.fitted_on = getattr(dataset, "split_part", None)
        self._fitted = True
        return self

    def _fit_values(self, values: torch.Tensor, rows: Optional[torch.Tensor]):
        if rows is not None:
            values = values[rows]
        location, scale, constant = _statistics(values, self.method)
        if constant:
            warnings.warn(
                f"{self.target} feature(s) {constant[:10]} are constant in the fitted data; their "
                "scale is set to 1, so they are only centred.",
                DataChangedWarning,
                stacklevel=3,
            )
        return location.to(torch.float32).cpu(), scale.to(torch.float32).cpu(), constant

    def fit_transform(self, dataset: Any, *, allow_test: bool = False) -> Any:
        """:meth:`fit` on ``dataset``, then return ``transform(dataset)``."""
        return self.fit(dataset, allow_test=allow_test).transform(dataset)

    @property
    def statistics(self) -> Dict[str, Any]:
        """The fitted statistics as a dict (``method``, ``target``, ``location``, ``scale``, ``fitted_on``)."""
        self._check_fitted()
        return {
            "method": self.method,
            "target": self.target,
            "location": self.location_,
            "scale": self.scale_,
            "fitted_on": self.fitted_on,
        }

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("this Normalizer is not fitted yet; call fit(train_part) first.")

    def _session_stats(self, session_id: Optional[int], dimension: int) -> Tuple[torch.Tensor, torch.Tensor]:
        if self._per_session is not None:
            if session_id is None:
                raise ValueError(
                    f"this Normalizer was fitted per session on {self._per_session} sessions; "
                    "transform a collection with as many sessions, or pass session_id."
                )
            if not 0 <= session_id < self._per_session:
                raise IndexError(f"session_id should be in 0 .. {self._per_session - 1}, but got {session_id}.")
            location, scale = self.location_[session_id], self.scale_[session_id]
        else:
            location, scale = self.location_, self.scale_
        if location.numel() != dimension:
            where = "" if session_id is None else f" (session {session_id})"
            raise ValueError(
                f"this Normalizer was fitted on {location.numel()} {self.target} features, but the "
                f"data{where} has {dimension}."
            )
        return location, scale

    # -- transform -------------------------------------------------------------------------

    def transform(self, dataset: Any) -> Any:
        """Return a new dataset normalised with the fitted statistics.

        The input is not modified; tensors not touched by the normalisation
        (labels, trials, ...) are shared. The new dataset's ``normalization``
        gains a record of what was applied.

        Raises:
            RuntimeError: if the normaliser is not fitted.
            ValueError: if the dataset's features do not match the fitted
                ones, or its ``target`` is already normalised.
        """
        self._check_fitted()
        if isinstance(dataset, MultiSessionDataset):
            sessions = list(dataset.iter_sessions())
            if self._per_session is not None and len(sessions) != self._per_session:
                raise ValueError(
                    f"this Normalizer was fitted on {self._per_session} sessions, but the collection "
                    f"has {len(sessions)}."
                )
            return type(dataset)([self._transform_single(s, i if self._per_session else None)
                                  for i, s in enumerate(sessions)])
        return self._transform_single(dataset, None)

    def _transform_single(self, dataset: Any, session_id: Optional[int]) -> Any:
        _check_supported(dataset)
        for record in dataset.normalization:
            if record["target"] == self.target:
                raise ValueError(
                    f"the dataset's {self.target} data are already normalised ({record['method']}, "
                    f"fitted on {record['fitted_on']!r}); normalising twice compounds the "
                    "statistics. Use inverse_transform first, or start from the raw dataset."
                )
        values = dataset.neural if self.target == "neural" else dataset.continuous
        location, scale = self._session_stats(session_id, values.shape[1])
        location, scale = location.to(values.device), scale.to(values.device)
        record = {
            "target": self.target,
            "method": self.method,
            "location": location,
            "scale": scale,
            "fitted_on": self.fitted_on,
        }
        scaled = (values - location) / scale
        return dataset.replace(**{self.target: scaled}, normalization=dataset.normalization + (record,))

    def inverse_transform(self, data: Any, session_id: Optional[int] = None) -> Any:
        """Undo the normalisation of a dataset, a tensor or a numpy array.

        Args:
            data: a normalised dataset (its latest record for this
                normaliser's target is undone with the statistics stored in
                the record, which also covers a later ``select_neurons``, and
                removed from the result), or values ``(..., D)`` in normalised
                units (e.g. a model's reconstruction) to map back.
            session_id: for a normaliser fitted per session on a collection,
                the session whose statistics apply to a tensor or array.

        Returns:
            A new dataset, tensor or array of the same kind.

        Raises:
            ValueError: if a dataset carries no matching normalisation record.
        """
        self._check_fitted()
        if isinstance(data, MultiSessionDataset):
            return type(data)([self.inverse_transform(s, i if self._per_session else None)
                               for i, s in enumerate(data.iter_sessions())])
        if isinstance(data, (torch.Tensor, np.ndarray)):
            location, scale = self._session_stats(session_id, data.shape[-1])
            if isinstance(data, np.ndarray):
                return data * scale.numpy() + location.numpy()
            return data * scale.to(data.device) + location.to(data.device)
        _check_supported(data)
        records = list(data.normalization)
        for k in range(len(records) - 1, -1, -1):
            record = records[k]
            if record["target"] == self.target:
                values = data.neural if self.target == "neural" else data.continuous
                restored = values * record["scale"] + record["location"]
                del records[k]
                return data.replace(**{self.target: restored}, normalization=tuple(records))
        raise ValueError(
            f"the dataset carries no normalisation of {self.target}, so there is nothing to undo."
        )


def _check_supported(dataset: Any) -> None:
    if not isinstance(dataset, TensorDataset):
        raise TypeError(
            "Normalizer works on TensorDataset and collections of them, but got "
            f"{type(dataset).__name__}."
        )
