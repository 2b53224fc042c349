"""Helpers around datasets and embeddings, at CEBRA's path ``cebra.data.helper``.

* :func:`get_loader_options` lists the loader classes that can sample a dataset.
* :class:`OrthogonalProcrustesAlignment` rotates one embedding onto another.
* :func:`ensemble_embeddings` aligns several embeddings of the same data onto
  the first one and averages them.

The signatures and the numbers are CEBRA 0.6.1's, with these differences:

* Where CEBRA subsamples with the global NumPy random state
  (``OrthogonalProcrustesAlignment(subsample=...)``), we take a keyword-only
  ``seed`` (an integer, ``None`` or a ``torch.Generator``) instead; the global
  random state is never read or changed. With ``subsample=None`` (the default)
  no randomness is involved and the results equal CEBRA's.
* Bad input fails early with a message naming what was expected and what was
  received (CEBRA fails later, or returns ``nan`` for rows of norm zero with
  ``post_norm=True``, or silently ignores extra ``labels``).
* Inputs may be NumPy arrays or torch tensors everywhere (CEBRA's ``fit``
  accepts tensors only in its type hints).
* The alignment needs memory proportional to the data, not to ``top_k`` times
  the data: the orthogonal Procrustes problem only needs the cross-product
  matrix of the matched pairs, which is accumulated without repeating rows.

Example:
    >>> import numpy as np
    >>> from cebra_data.helper import OrthogonalProcrustesAlignment
    >>> t = np.linspace(0, 6, 200)
    >>> reference = np.stack([np.cos(t), np.sin(t), t / 6], axis=1)
    >>> rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> rotated = reference @ rotation
    >>> aligned = OrthogonalProcrustesAlignment(top_k=1).fit_transform(reference, rotated)
    >>> bool(np.allclose(aligned, reference))
    True
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, List, Optional, Union

import joblib
import numpy as np
import numpy.typing as npt
import scipy.linalg
import torch

from cebra_data.errors import DimensionMismatchError, MethodologyWarning
from cebra_data.multi_session import ContinuousMultiSessionDataLoader, MultiSessionDataset
from cebra_data.seeding import as_generator
from cebra_data.single_session import (
    ContinuousDataLoader,
    DiscreteDataLoader,
    MixedDataLoader,
    SingleSessionDataset,
)

__all__ = ["OrthogonalProcrustesAlignment", "ensemble_embeddings", "get_loader_options"]

#: What a ``seed`` argument accepts: an integer, ``None`` (fresh entropy) or a generator.
SeedLike = Union[int, None, torch.Generator]

ArrayLike = Union[npt.NDArray, torch.Tensor]

#: Below this many subsampled pairs CEBRA warns that the alignment is experimental.
_SUBSAMPLE_WARN_BELOW = 1000

#: Rows of the label distance matrix computed at once (bounds memory to about
#: ``_DISTANCE_BLOCK_ELEMENTS`` floats per block).
_DISTANCE_BLOCK_ELEMENTS = 2**22


def get_loader_options(dataset: Any) -> List[type]:
    """Return the loader classes that can sample ``dataset``, as CEBRA lists them.

    A single-session dataset offers :class:`~cebra_data.ContinuousDataLoader`
    if it has a continuous index, :class:`~cebra_data.DiscreteDataLoader` if it
    has a discrete index, and :class:`~cebra_data.MixedDataLoader` if it has
    both (in that order). A multi-session dataset offers
    :class:`~cebra_data.ContinuousMultiSessionDataLoader` if it has a continuous
    index; like CEBRA 0.6.1, no discrete or mixed multi-session loader is
    listed, although both exist.

    Each entry is a class: its options are its dataclass fields, e.g.
    ``[f.name for f in dataclasses.fields(option)]``.

    Args:
        dataset: a :class:`~cebra_data.SingleSessionDataset` or a
            :class:`~cebra_data.MultiSessionDataset`.

    Returns:
        The loader classes, possibly an empty list (a dataset without an index).

    Raises:
        TypeError: if ``dataset`` is neither a single- nor a multi-session dataset.

    Example:
        >>> import torch
        >>> import cebra_data
        >>> from cebra_data.helper import get_loader_options
        >>> dataset = cebra_data.TensorDataset(
        ...     torch.zeros(50, 3), continuous=torch.zeros(50, 2),
        ...     discrete=torch.zeros(50, dtype=torch.long))
        >>> [option.__name__ for option in get_loader_options(dataset)]
        ['ContinuousDataLoader', 'DiscreteDataLoader', 'MixedDataLoader']
    """
    if isinstance(dataset, SingleSessionDataset):
        has_continuous = dataset.continuous_index is not None
        has_discrete = dataset.discrete_index is not None
        options: List[type] = []
        if has_continuous:
            options.append(ContinuousDataLoader)
        if has_discrete:
            options.append(DiscreteDataLoader)
        if has_continuous and has_discrete:
            options.append(MixedDataLoader)
        return options
    if isinstance(dataset, MultiSessionDataset):
        if dataset.continuous_index is not None:
            return [ContinuousMultiSessionDataLoader]
        return []
    raise TypeError(
        "dataset should be a cebra_data.SingleSessionDataset or a "
        f"cebra_data.MultiSessionDataset, but got an object of type {type(dataset).__name__}."
    )


def _as_matrix(value: Any, name: str, *, allow_integer: bool = True) -> np.ndarray:
    """``value`` (array or tensor, 1-D or 2-D, numeric, finite) as a 2-D numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{name} should be a numpy array or a torch tensor, but got an object of "
            f"type {type(value).__name__}."
        )
    kinds = "biuf" if allow_integer else "f"
    if value.dtype.kind not in kinds:
        raise TypeError(f"{name} should be a numeric array, but got an array of dtype {value.dtype}.")
    if value.ndim == 1:
        value = value[:, None]
    if value.ndim != 2:
        raise ValueError(
            f"{name} should be a 1-D or 2-D array of shape (samples,) or (samples, features), "
            f"but got a {value.ndim}-D array of shape {value.shape}."
        )
    if value.shape[0] == 0:
        raise ValueError(f"{name} should contain at least one sample, but got shape {value.shape}.")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        bad = int((~np.isfinite(value)).any(axis=1).sum())
        raise ValueError(f"{name} should be finite, but {bad} of its rows contain NaN or inf.")
    return value


def _check_optional_positive_int(value: Any, name: str, allow_none: bool) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "a positive integer or None" if allow_none else "a positive integer"
        raise TypeError(
            f"{name} should be {expected}, but got {name}={value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"{name} should be an integer >= 1, but got {name}={value}.")
    return int(value)


def _squared_distances(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``|rows[i] - columns[j]|**2`` expanded as CEBRA does.

    Computed as ``|a|^2 + |b|^2 - 2 a.b`` with the same numpy operations as
    CEBRA, so that ties (and hence the chosen neighbours) are the same.
    """
    cross = np.einsum("nd,md->nm", rows, columns)
    return (rows**2).sum(1)[:, None] + (columns**2).sum(1)[None, :] - 2 * cross


def _nearest_reference(label: np.ndarray, ref_label: np.ndarray, top_k: int) -> np.ndarray:
    """``(len(label), top_k)`` indices of the ``top_k`` reference labels nearest each label.

    Ties are broken as ``numpy.argsort`` (default kind) breaks them, as in CEBRA.
    The distance matrix is computed in row blocks to bound memory.
    """
    block = max(1, _DISTANCE_BLOCK_ELEMENTS // ref_label.shape[0])
    nearest = np.empty((label.shape[0], top_k), dtype=np.intp)
    for start in range(0, label.shape[0], block):
        stop = start + block
        distance = _squared_distances(label[start:stop], ref_label)
        nearest[start:stop] = np.argsort(distance, axis=1)[:, :top_k]
    return nearest


class OrthogonalProcrustesAlignment:
    """Align data onto reference data with the orthogonal Procrustes solution.

    The orthogonal matrix ``R`` minimising ``||A @ R - B||_F`` (with
    ``R.T @ R = I``) is ``U @ Vt`` for the SVD ``A.T @ B = U S Vt``
    (:func:`scipy.linalg.orthogonal_procrustes`). Here the rows of ``A`` and
    ``B`` are matched pairs: every row ``data[i]`` is paired with each of the
    ``top_k`` rows of ``ref_data`` whose labels are nearest to ``label[i]``
    (squared Euclidean distance). Without labels, data of equal length are
    matched by time: the labels are the sample numbers ``0 .. N-1``.

    With ``subsample`` set, ``subsample`` of the ``len(data) * top_k`` pairs are
    drawn with replacement, as the pair numbers
    ``torch.randint(0, len(data) * top_k, (subsample,), generator=as_generator(seed))``
    where pair ``p`` is ``data[p // top_k]`` with its ``(p % top_k)``-th nearest
    reference row. A new generator is made from ``seed`` at every :meth:`fit`,
    so one integer seed gives the same matrix at every fit.

    Differences from CEBRA: ``seed`` (CEBRA draws the pairs with the global
    ``np.random.choice``); inputs are validated at once; tensors are accepted.

    Args:
        top_k: the number of nearest reference samples each data sample is
            paired with.
        subsample: the number of pairs to solve the problem on, or ``None`` for
            all. Larger than the number of pairs: a warning, and all pairs are
            used (as in CEBRA); below 1000: a warning that this is experimental.
        seed: keyword-only; the randomness of ``subsample``: an integer, ``None``
            (fresh entropy) or a ``torch.Generator`` (shared, so it advances).
            Unused when ``subsample`` is ``None``.

    Raises:
        TypeError: if ``top_k`` is not an integer or ``subsample`` is neither an
            integer nor ``None``.
        ValueError: if ``top_k`` or ``subsample`` is smaller than 1.

    Example:
        >>> import numpy as np
        >>> from cebra_data.helper import OrthogonalProcrustesAlignment
        >>> t = np.linspace(0, 6, 300)
        >>> reference = np.stack([np.cos(t), np.sin(t)], axis=1)
        >>> mirrored = reference * np.array([1.0, -1.0])
        >>> alignment = OrthogonalProcrustesAlignment(top_k=1).fit(reference, mirrored)
        >>> np.round(alignment.transform_matrix, 6) + 0.0
        array([[ 1.,  0.],
               [ 0., -1.]])
    """

    def __init__(self, top_k: int = 5, subsample: Optional[int] = None, *, seed: SeedLike = None):
        self.top_k = _check_optional_positive_int(top_k, "top_k", allow_none=False)
        self.subsample = _check_optional_positive_int(subsample, "subsample", allow_none=True)
        if not (seed is None or isinstance(seed, torch.Generator)):
            as_generator(seed)  # validates the type and range now rather than at fit
        self.seed = seed
        self._transform: Optional[np.ndarray] = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(top_k={self.top_k}, subsample={self.subsample}, "
            f"seed={self.seed!r})"
        )

    @property
    def transform_matrix(self) -> np.ndarray:
        """The fitted ``(features, features)`` orthogonal matrix (our addition).

        Raises:
            ValueError: before :meth:`fit`.
        """
        if self._transform is None:
            raise ValueError(
                f"This {type(self).__name__} is not fitted yet: call fit() before using it."
            )
        return self._transform

    def fit(
        self,
        ref_data: ArrayLike,
        data: ArrayLike,
        ref_label: Optional[ArrayLike] = None,
        label: Optional[ArrayLike] = None,
    ) -> "OrthogonalProcrustesAlignment":
        """Compute the orthogonal matrix that maps ``data`` onto ``ref_data``.

        Args:
            ref_data: the reference, ``(M, features)`` (or ``(M,)``).
            data: the data to align, ``(N, features)`` (or ``(N,)``).
            ref_label: labels of the reference, ``(M, d)`` or ``(M,)``.
            label: labels of the data, ``(N, d)`` or ``(N,)``. Give both label
                arrays, or neither when ``M == N`` (then samples are matched by
                time).

        Returns:
            ``self``, for chaining.

        Raises:
            TypeError: for inputs that are not numeric arrays or tensors.
            ValueError: for missing labels, lengths that do not match their
                labels, a reference with fewer than ``top_k`` samples, or
                non-finite values.
            DimensionMismatchError: (a ``ValueError``) if data and reference, or
                their labels, differ in the number of features.

        Example:
            >>> import numpy as np
            >>> from cebra_data.helper import OrthogonalProcrustesAlignment
            >>> t = np.linspace(0, 1, 40)
            >>> reference = np.stack([t, t ** 2], axis=1)
            >>> data = reference[::2] @ np.array([[0.0, 1.0], [1.0, 0.0]])
            >>> alignment = OrthogonalProcrustesAlignment(top_k=1).fit(
            ...     reference, data, ref_label=t, label=t[::2])
            >>> bool(np.allclose(alignment.transform(data), reference[::2]))
            True
        """
        ref_data = _as_matrix(ref_data, "ref_data")
        data = _as_matrix(data, "data")
        if data.shape[1] != ref_data.shape[1]:
            raise DimensionMismatchError(
                "Invalid data: data and ref_data should have the same number of features, but "
                f"got data with {data.shape[1]} and ref_data with {ref_data.shape[1]}."
            )
        if ref_label is None and label is None:
            if ref_data.shape[0] != data.shape[0]:
                raise ValueError(
                    "Missing labels: ref_data and data have different numbers of samples "
                    f"({ref_data.shape[0]} and {data.shape[0]}), so both ref_label and label "
                    "are needed to match them."
                )
            ref_label = label = np.arange(data.shape[0])[:, None]
        elif ref_label is None or label is None:
            given, missing = ("label", "ref_label") if ref_label is None else ("ref_label", "label")
            raise ValueError(
                f"Missing labels: got {given} but not {missing}. Give both label arrays, or "
                "neither when ref_data and data have the same number of samples."
            )
        else:
            ref_label = _as_matrix(ref_label, "ref_label")
            label = _as_matrix(label, "label")
        if ref_label.shape[0] != ref_data.shape[0]:
            raise ValueError(
                "Mismatched data and labels: ref_data and ref_label should have the same "
                f"number of samples, but got {ref_data.shape[0]} and {ref_label.shape[0]}."
            )
        if label.shape[0] != data.shape[0]:
            raise ValueError(
                "Mismatched data and labels: data and label should have the same number of "
                f"samples, but got {data.shape[0]} and {label.shape[0]}."
            )
        if label.shape[1] != ref_label.shape[1]:
            raise DimensionMismatchError(
                "label and ref_label should have the same number of features, but got "
                f"label with {label.shape[1]} and ref_label with {ref_label.shape[1]}."
            )
        if ref_data.shape[0] < self.top_k:
            raise ValueError(
                f"Invalid reference data: ref_data should contain at least top_k={self.top_k} "
                f"samples, but got {ref_data.shape[0]}."
            )

        nearest = _nearest_reference(label, ref_label, self.top_k)
        cross = self._cross_product(ref_data, data, nearest)
        left, _, right = scipy.linalg.svd(cross)
        dtype = np.result_type(data.dtype, ref_data.dtype, np.float32)
        self._transform = (left @ right).astype(dtype, copy=False)
        return self

    def _cross_product(self, ref_data: np.ndarray, data: np.ndarray, nearest: np.ndarray) -> np.ndarray:
        """``A.T @ B`` over the matched (or subsampled) pairs, accumulated in float64."""
        n_pairs = nearest.size
        data64 = data.astype(np.float64, copy=False)
        ref64 = ref_data.astype(np.float64, copy=False)
        subsample = self.subsample
        if subsample is not None and subsample > n_pairs:
            warnings.warn(
                f"subsample={subsample} is larger than the number of matched pairs "
                f"({n_pairs} = {data.shape[0]} samples x top_k={self.top_k}); ignoring "
                "subsample and aligning on all pairs, which gives better results.",
                MethodologyWarning,
                stacklevel=3,
            )
            subsample = None
        if subsample is None:
            neighbours = np.zeros_like(data64)
            for k in range(self.top_k):
                neighbours += ref64[nearest[:, k]]
            return data64.T @ neighbours
        if subsample < _SUBSAMPLE_WARN_BELOW:
            warnings.warn(
                f"Aligning on subsample={subsample} < {_SUBSAMPLE_WARN_BELOW} pairs is "
                "experimental; subsample=None aligns on all pairs.",
                MethodologyWarning,
                stacklevel=3,
            )
        generator = as_generator(self.seed)
        pairs = torch.randint(0, n_pairs, (subsample,), generator=generator).numpy()
        rows = pairs // self.top_k
        columns = nearest[rows, pairs % self.top_k]
        return data64[rows].T @ ref64[columns]

    def transform(self, data: ArrayLike) -> npt.NDArray:
        """Rotate ``data`` with the matrix computed by :meth:`fit`.

        Args:
            data: ``(N, features)`` (or ``(N,)``) array or tensor.

        Returns:
            ``data @ R``, a numpy array of shape ``(N, features)``.

        Raises:
            ValueError: before :meth:`fit`, or for non-finite values.
            DimensionMismatchError: if ``data`` has a different number of
                features than the data the alignment was fitted on.

        Example:
            >>> import numpy as np
            >>> from cebra_data.helper import OrthogonalProcrustesAlignment
            >>> x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
            >>> alignment = OrthogonalProcrustesAlignment(top_k=1).fit(x, -x)
            >>> np.round(alignment.transform(np.array([[3.0, 4.0]])), 6) + 0.0
            array([[-3., -4.]])
        """
        matrix = self.transform_matrix
        data = _as_matrix(data, "data")
        if data.shape[1] != matrix.shape[0]:
            raise DimensionMismatchError(
                f"data should have {matrix.shape[0]} features (as in fit), but got "
                f"{data.shape[1]}."
            )
        return data @ matrix

    def fit_transform(
        self,
        ref_data: ArrayLike,
        data: ArrayLike,
        ref_label: Optional[ArrayLike] = None,
        label: Optional[ArrayLike] = None,
    ) -> npt.NDArray:
        """:meth:`fit`, then :meth:`transform` of ``data``.

        Args:
            ref_data: the reference, ``(M, features)`` (or ``(M,)``).
            data: the data to align, ``(N, features)`` (or ``(N,)``).
            ref_label: labels of the reference (see :meth:`fit`).
            label: labels of the data (see :meth:`fit`).

        Returns:
            ``data`` aligned onto ``ref_data``, ``(N, features)``.

        Raises:
            TypeError: see :meth:`fit`.
            ValueError: see :meth:`fit`.

        Example:
            >>> import numpy as np
            >>> from cebra_data.helper import OrthogonalProcrustesAlignment
            >>> x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
            >>> aligned = OrthogonalProcrustesAlignment(top_k=1).fit_transform(x, x[:, ::-1])
            >>> np.round(aligned, 6) + 0.0
            array([[1., 0.],
                   [0., 2.],
                   [1., 1.]])
        """
        return self.fit(ref_data, data, ref_label, label).transform(data)


def _align_onto(reference: np.ndarray, embedding: np.ndarray, ref_label: Any, label: Any) -> np.ndarray:
    return OrthogonalProcrustesAlignment().fit_transform(reference, embedding, ref_label, label)


def ensemble_embeddings(
    embeddings: List[ArrayLike],
    labels: Optional[List[Optional[ArrayLike]]] = None,
    post_norm: bool = False,
    n_jobs: int = 0,
) -> npt.NDArray:
    """Align embeddings of the same data onto the first one and average them.

    Every embedding after the first is aligned onto the first with
    ``OrthogonalProcrustesAlignment()`` (``top_k=5``, no subsampling, so no
    randomness); the first embedding and the aligned ones are averaged.

    Args:
        embeddings: one or more arrays or tensors, all of one shape ``(N, features)``
            (or ``(N,)``).
        labels: ``None``, or one label array (or ``None``) per embedding, passed
            to :meth:`OrthogonalProcrustesAlignment.fit` as
            ``ref_label=labels[0], label=labels[i]``.
        post_norm: divide every row of the result by its Euclidean norm.
        n_jobs: ``0`` aligns in a plain loop; any other integer aligns with
            ``joblib.Parallel(n_jobs=n_jobs)`` (``-1``: all cores).

    Returns:
        The ensemble embedding, ``(N, features)``.

    Raises:
        ValueError: for an empty list, embeddings of different shapes, a
            ``labels`` list of another length, an ``n_jobs`` that is not an
            integer (``ValueError`` as in CEBRA), or, with ``post_norm``, rows
            of norm zero (CEBRA would return ``nan`` there).
        TypeError: for embeddings that are not numeric arrays or tensors.

    Example:
        >>> import numpy as np
        >>> from cebra_data.helper import ensemble_embeddings
        >>> t = np.linspace(0, 6, 100)
        >>> first = np.stack([np.cos(t), np.sin(t)], axis=1)
        >>> second = first @ np.array([[0.0, 1.0], [-1.0, 0.0]])
        >>> joint = ensemble_embeddings([first, second], post_norm=True)
        >>> joint.shape, bool(np.allclose(np.linalg.norm(joint, axis=1), 1.0))
        ((100, 2), True)
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(
            f"Invalid n_jobs: n_jobs should be an integer (0 for no parallelism, -1 for all cores), but got "
            f"n_jobs={n_jobs!r} of type {type(n_jobs).__name__}."
        )
    if isinstance(embeddings, (np.ndarray, torch.Tensor)) or not hasattr(embeddings, "__len__"):
        raise TypeError(
            "embeddings should be a list of arrays or tensors, but got an object of type "
            f"{type(embeddings).__name__}."
        )
    if len(embeddings) == 0:
        raise ValueError("embeddings should contain at least one embedding, but got an empty list.")
    embeddings = [_as_matrix(e, f"embeddings[{i}]") for i, e in enumerate(embeddings)]
    for i, embedding in enumerate(embeddings[1:], start=1):
        if embedding.shape != embeddings[0].shape:
            raise ValueError(
                "Inconsistent embeddings: all embeddings should have the same shape, but embeddings[0] has shape "
                f"{embeddings[0].shape} and embeddings[{i}] has shape {embedding.shape}."
            )
    if labels is None:
        labels = [None] * len(embeddings)
    elif len(labels) != len(embeddings):
        raise ValueError(
            f"labels should hold one entry per embedding ({len(embeddings)}), but got "
            f"{len(labels)}."
        )

    reference = embeddings[0]
    pairs = list(zip(embeddings[1:], labels[1:]))
    if n_jobs == 0:
        aligned = [_align_onto(reference, e, labels[0], label) for e, label in pairs]
    else:
        aligned = joblib.Parallel(n_jobs=int(n_jobs))(
            joblib.delayed(_align_onto)(reference, e, labels[0], label) for e, label in pairs
        )

    dtype = np.result_type(reference.dtype, np.float32)
    joint = reference.astype(dtype, copy=True)
    for part in aligned:
        joint += part
    joint = joint / len(embeddings)

    if post_norm:
        norms = np.linalg.norm(joint, axis=1, keepdims=True)
        zero = np.flatnonzero(norms[:, 0] == 0)
        if zero.size:
            raise ValueError(
                f"post_norm=True cannot normalise rows of norm zero, but {zero.size} rows of the "
                f"ensemble embedding have norm zero (first: row {int(zero[0])})."
            )
        joint = joint / norms
    return joint
