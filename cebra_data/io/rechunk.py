"""Rewrite an HDF5 (or NWB) file so that its signals sample at memory speed: :func:`rechunk`.

Random windows of a compressed, chunked dataset each decompress (at least) one whole chunk,
and the chunk shapes real files use are large: h5py's automatic chunking of a
``(2.2e6, 128)`` float32 dataset is ``(17188, 2)`` (a row spans 64 chunks of 134 KiB),
the 10 MB chunks of hdmf/neuroconv (DANDI's NWB writers) are ``(206244, 12)``. A batch of
random windows therefore decompresses most of the file. No chunked compressed layout
avoids that, so :func:`rechunk` writes the chosen datasets *contiguous and uncompressed*:
:class:`cebra_data.HDF5Dataset` then memory-maps them (a float32 dataset) and gathers
windows at memory speed, with the file's pages in the page cache instead of the process's
memory. Everything else in the file (groups, attributes, other datasets with their own
layout, soft, external and hard links, object references) is copied unchanged, so an NWB
file stays an NWB file that pynwb reads.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import h5py
import numpy as np

from cebra_data.errors import (
    PrecisionWarning,
    CorruptFileError,
    DataFileNotFoundError,
    DestinationExistsError,
    MissingKeyError,
    UnsupportedCombinationError,
)

__all__ = ["rechunk", "slow_layout", "BLOCK_BYTES"]

#: Bytes of one block copied at a time (at least one band of chunks along the first axis).
BLOCK_BYTES = 64 * 2**20

PathLike = Union[str, os.PathLike]


def slow_layout(dataset: h5py.Dataset) -> bool:
    """Whether ``dataset`` is numeric and stored chunked, virtual or in external files.

    These are the layouts :func:`rechunk` rewrites by default: their values are not one
    contiguous block of the file, so they cannot be memory-mapped.
    """
    if dataset.dtype.kind not in "biuf" or dataset.shape is None or dataset.size == 0:
        return False
    return dataset.chunks is not None or dataset.is_virtual or bool(dataset.external)


def _band_rows(dataset: h5py.Dataset) -> int:
    """Rows (along axis 0) per copied block: whole bands of chunks, about :data:`BLOCK_BYTES`."""
    row_bytes = max(1, int(np.prod(dataset.shape[1:], dtype=np.int64)) * dataset.dtype.itemsize)
    rows = max(1, BLOCK_BYTES // row_bytes)
    if dataset.chunks is not None:
        band = dataset.chunks[0]
        rows = max(band, rows // band * band)
    return min(rows, dataset.shape[0])


def _copy_contiguous(source: h5py.Dataset, group: h5py.Group, name: str,
                     dtype: Optional[np.dtype]) -> None:
    """Write ``source`` into ``group[name]`` contiguous and uncompressed, band by band."""
    dtype = source.dtype if dtype is None else dtype
    target = group.create_dataset(name, shape=source.shape, dtype=dtype,
                                  fillvalue=np.asarray(source.fillvalue).astype(dtype))
    for key, value in source.attrs.items():
        target.attrs.create(key, value, dtype=source.attrs.get_id(key).dtype)
    if source.ndim == 0:
        target[()] = source[()]
        return
    rows = _band_rows(source)
    buffer = np.empty((rows,) + source.shape[1:], dtype=source.dtype)
    for first in range(0, source.shape[0], rows):
        last = min(first + rows, source.shape[0])
        part = buffer[: last - first]
        source.read_direct(part, np.s_[first:last])
        if dtype != source.dtype:
            _check_exact(part, dtype, source)
            part = part.astype(dtype)
        target.write_direct(np.ascontiguousarray(part), dest_sel=np.s_[first:last])


def _check_exact(values: np.ndarray, dtype: np.dtype, source: h5py.Dataset) -> None:
    """Warn when converting ``values`` to ``dtype`` rounds integers (float32 holds them up to 2**24)."""
    if values.dtype.kind in "iu" and values.size:
        largest = int(np.abs(values.astype(np.int64, copy=False)).max()) if values.dtype.kind == "i" \
            else int(values.max())
        if largest > 2 ** (np.finfo(dtype).nmant + 1):
            warnings.warn(
                f"rechunk: {source.name!r} has integer values up to {largest}; {dtype} rounds them.",
                PrecisionWarning, stacklevel=5,
            )


def _is_float32(dtype: Any) -> bool:
    try:
        return np.dtype(dtype) == np.dtype(np.float32)
    except TypeError:
        return False


def _has_reference(dtype: np.dtype) -> bool:
    if h5py.check_dtype(ref=dtype) is not None:
        return True
    if dtype.names:
        return any(_has_reference(dtype.fields[field][0]) for field in dtype.names)
    return dtype.subdtype is not None and _has_reference(dtype.subdtype[0])


class _Copier:
    """One copy of a file: the structure first, then every object reference re-pointed."""

    def __init__(self, source: h5py.File, destination: h5py.File, targets: Iterable[str],
                 dtype: Optional[np.dtype]) -> None:
        self.source, self.destination = source, destination
        # by object, not path: a dataset with two hard links has two paths
        self.targets, self.dtype = {source[name].id for name in targets}, dtype
        self.copied: Dict[Any, str] = {}  # object id in the source -> its first path

    def group(self, source: h5py.Group, target: h5py.Group) -> None:
        for key, value in source.attrs.items():
            target.attrs.create(key, value, dtype=source.attrs.get_id(key).dtype)
        for name in source:
            link = source.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                target[name] = h5py.SoftLink(link.path)
                continue
            if isinstance(link, h5py.ExternalLink):
                target[name] = h5py.ExternalLink(link.filename, link.path)
                continue
            node = source[name]
            if node.id in self.copied:
                target[name] = self.destination[self.copied[node.id]]  # a second hard link
                continue
            self.copied[node.id] = node.name
            if isinstance(node, h5py.Group):
                self.group(node, target.create_group(name))
            elif isinstance(node, h5py.Dataset) and node.id in self.targets:
                _copy_contiguous(node, target, name, self.dtype)
            else:
                source.copy(node, target, name=name)

    def references(self) -> None:
        """Re-point object references: h5py's copy between files leaves them null."""
        self._attributes(self.source["/"])
        self.source.visititems(self._object)

    def _object(self, name: str, node: Any) -> None:
        self._attributes(node)
        if isinstance(node, h5py.Dataset) and _has_reference(node.dtype):
            self.destination[node.name][()] = self._translate(node[()], node.dtype, node.name)

    def _attributes(self, node: Any) -> None:
        for key in node.attrs:
            dtype = node.attrs.get_id(key).dtype
            if _has_reference(dtype):
                value = self._translate(node.attrs[key], dtype, f"{node.name} attribute {key!r}")
                self.destination[node.name].attrs.create(key, value, dtype=dtype)

    def _translate(self, value: Any, dtype: np.dtype, where: str) -> Any:
        if dtype.names:
            value = np.array(value, dtype=dtype, copy=True)
            for field in dtype.names:
                field_dtype = dtype.fields[field][0]
                if _has_reference(field_dtype):
                    value[field] = self._translate(value[field], field_dtype, where)
            return value
        kind = h5py.check_dtype(ref=dtype)
        if kind is None:
            raise UnsupportedCombinationError(
                f"rechunk cannot copy the object references nested in {where} of "
                f"{self.source.filename!r} (dtype {dtype}); only plain references and "
                "references in compound fields are supported."
            )
        if kind is not h5py.Reference:
            raise UnsupportedCombinationError(
                f"rechunk cannot copy the region references in {where} of {self.source.filename!r}; "
                "only object references are supported."
            )
        if isinstance(value, h5py.Reference):
            return self._one(value, where)
        array = np.asarray(value, dtype=object)
        out = np.empty(array.shape, dtype=object)
        for index, ref in np.ndenumerate(array):
            out[index] = self._one(ref, where)
        return out

    def _one(self, ref: h5py.Reference, where: str) -> h5py.Reference:
        if not ref:
            return h5py.Reference()
        name = h5py.h5r.get_name(ref, self.source.id)
        if name is None:
            raise UnsupportedCombinationError(
                f"{where} of {self.source.filename!r} refers to an object that has no path in the "
                "file; rechunk cannot copy such a reference."
            )
        return self.destination[name.decode() if isinstance(name, bytes) else name].ref


def _targets(handle: h5py.File, datasets: Optional[Sequence[str]], path: pathlib.Path) -> List[str]:
    if datasets is None:
        found: List[str] = []
        handle.visititems(
            lambda name, node: found.append(node.name)
            if isinstance(node, h5py.Dataset) and slow_layout(node) else None
        )
        return found
    if isinstance(datasets, (str, bytes)):
        datasets = [datasets]
    names = []
    for name in datasets:
        node = handle.get(name)
        if not isinstance(node, h5py.Dataset):
            kind = "is a group" if node is not None else "does not exist"
            raise MissingKeyError(f"rechunk: dataset {name!r} {kind} in {str(path)!r}.")
        if node.dtype.kind not in "biuf":
            raise TypeError(
                f"rechunk: dataset {name!r} of {str(path)!r} has dtype {node.dtype}; only numeric "
                "datasets (integers, floats, booleans) are rewritten."
            )
        names.append(node.name)
    return names


def rechunk(
    source: PathLike,
    destination: PathLike,
    datasets: Union[None, str, Sequence[str]] = None,
    *,
    dtype: Optional[str] = None,
    overwrite: bool = False,
) -> List[str]:
    """Copy ``source`` to ``destination`` with datasets rewritten contiguous and uncompressed.

    The rewritten datasets keep their dtype, shape, values, fill value and attributes;
    they lose their chunking and compression (the file grows to their uncompressed size).
    A float32 signal rewritten this way is memory-mapped by
    :class:`cebra_data.HDF5Dataset` and samples at the speed of memory without taking
    memory: the file's pages are the page cache's. Everything else is copied as it is.
    The copy is written next to ``destination`` and renamed into place when complete.
    ``cebra-data rechunk IN OUT [--dataset PATH ...]`` runs this function.

    Args:
        source: the HDF5 or NWB file.
        destination: the file to write (must differ from ``source``).
        datasets: the path(s) of the datasets to rewrite; by default every numeric
            dataset stored chunked (compressed or not), virtual or in external files.
        dtype: ``None`` (default) keeps each rewritten dataset's dtype; ``"float32"``
            converts them to float32, the values :class:`~cebra_data.HDF5Dataset` samples,
            so that an integer signal (e.g. int16 voltages) can be memory-mapped too (with a
            warning if an integer beyond 2**24 is rounded).
        overwrite: replace an existing ``destination``.

    Returns:
        The paths of the rewritten datasets.

    Raises:
        cebra_data.errors.DataFileNotFoundError: if ``source`` does not exist.
        cebra_data.errors.CorruptFileError: if ``source`` is not an HDF5 file.
        cebra_data.errors.DestinationExistsError: if ``destination`` exists and not ``overwrite``.
        cebra_data.errors.MissingKeyError: for a dataset path the file lacks.
        ValueError: if ``destination`` is ``source``, or for a ``dtype`` other than float32.

    Example:
        >>> import h5py, numpy as np
        >>> from cebra_data import rechunk
        >>> with h5py.File(tmp_path / "in.h5", "w") as f:
        ...     _ = f.create_dataset("neural", data=np.ones((1000, 8), "f4"), chunks=(100, 2),
        ...                          compression="gzip")
        >>> rechunk(tmp_path / "in.h5", tmp_path / "out.h5")
        ['/neural']
        >>> with h5py.File(tmp_path / "out.h5") as f:
        ...     f["neural"].chunks, f["neural"].compression, float(f["neural"][5, 3])
        (None, None, 1.0)
    """
    if dtype is not None and not (isinstance(dtype, (str, type, np.dtype)) and _is_float32(dtype)):
        raise ValueError(f"rechunk: dtype should be None or 'float32', but got dtype={dtype!r}.")
    target_dtype = None if dtype is None else np.dtype(np.float32)
    source_path = pathlib.Path(os.fspath(source))
    target_path = pathlib.Path(os.fspath(destination))
    if not source_path.is_file():
        raise DataFileNotFoundError(f"rechunk: no such file: {str(source_path)!r}.")
    if not h5py.is_hdf5(source_path):
        raise CorruptFileError(f"rechunk: {str(source_path)!r} is not an HDF5 (or NWB) file.")
    if target_path.exists():
        if target_path.resolve() == source_path.resolve():
            raise ValueError(f"rechunk: the destination is the source file {str(source_path)!r}; "
                             "write to another file.")
        if not overwrite:
            raise DestinationExistsError(
                f"rechunk: {str(target_path)!r} exists; pass overwrite=True (--overwrite) to replace it."
            )
    folder = target_path.resolve().parent
    handle, temporary = tempfile.mkstemp(prefix=f".{target_path.name}.", suffix=".partial", dir=folder)
    os.close(handle)
    try:
        with h5py.File(source_path, "r") as src, h5py.File(temporary, "w") as dst:
            names = _targets(src, datasets, source_path)
            copier = _Copier(src, dst, names, target_dtype)
            copier.group(src["/"], dst["/"])
            copier.references()
        os.replace(temporary, target_path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    return names
