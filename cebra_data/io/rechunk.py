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

import contextlib
import os
import pathlib
import posixpath
import re
import reprlib
import secrets
import stat
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

import h5py
import numpy as np

from cebra_data.errors import (
    PrecisionWarning,
    CebraDataError,
    CorruptFileError,
    DataFileNotFoundError,
    DestinationExistsError,
    EmptyFileError,
    MissingDependencyError,
    MissingKeyError,
    NonNumericDataError,
    UnsupportedCombinationError,
    UnsupportedURLError,
)
from cebra_data.io.hdf5 import external_file_prefix
from cebra_data.io.remote import is_url

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


# --- errors: every failure of h5py names the file (and the object) it happened in ---

#: h5py's messages for a failed write or a full disk (H5Ocopy reads and writes in one call).
_WRITE_FAILURE = re.compile(r"write|extend file|space|errno = (27|28|30|122)\b", re.IGNORECASE)


def _from_h5py(error: BaseException) -> bool:
    """Whether ``error`` was raised by h5py (or by HDF5 under it), not on purpose by cebra_data."""
    if isinstance(error, CebraDataError):
        return False
    trace = error.__traceback__
    while trace is not None:
        name = trace.tb_frame.f_code.co_filename.replace(os.sep, "/")
        if name.startswith("h5py/") or "/h5py/" in name:
            return True
        trace = trace.tb_next
    return False


def _reason(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _damaged(path: str, where: str, error: BaseException) -> CorruptFileError:
    return CorruptFileError(
        f"rechunk: {path!r} is damaged or truncated: reading {where} failed ({_reason(error)})."
    )


@contextlib.contextmanager
def _reading(path: str, where: str) -> Iterator[None]:
    """Raise an h5py failure inside the block as :class:`CorruptFileError` naming ``path`` and ``where``."""
    try:
        yield
    except Exception as error:
        if not _from_h5py(error):
            raise
        raise _damaged(path, where, error) from error


def _write_failed(output: str, temporary: str, where: str, error: BaseException) -> OSError:
    reason = _reason(error).replace(temporary, output)
    return OSError(f"rechunk: writing {output!r} failed ({where}): {reason}. Nothing was written.")


def _os_error(error: OSError, message: str) -> OSError:
    """An ``OSError`` of the same kind (and errno) as ``error`` with ``message``."""
    new = type(error)(message)
    new.errno = error.errno
    return new


class _Copier:
    """One copy of a file: the structure first, then every object reference re-pointed.

    Every h5py call is in a :meth:`reading`, :meth:`writing` or :meth:`copying` block, which
    says whose fault a failure is: the input file's (damaged) or the output's (disk full,
    no permission).
    """

    def __init__(self, source: h5py.File, destination: h5py.File, targets: Sequence[h5py.Dataset],
                 dtype: Optional[np.dtype], path: str, output: str, temporary: str) -> None:
        self.source, self.destination = source, destination
        # by object, not path: a dataset with two hard links has two paths
        self.targets, self.dtype = {node.id for node in targets}, dtype
        self.path, self.output, self.temporary = path, output, temporary
        self.copied: Dict[Any, str] = {}  # object id in the source -> its first path

    def reading(self, where: str) -> Any:
        return _reading(self.path, where)

    @contextlib.contextmanager
    def writing(self, where: str) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            if not _from_h5py(error):
                raise
            raise _write_failed(self.output, self.temporary, where, error) from error

    @contextlib.contextmanager
    def copying(self, where: str) -> Iterator[None]:
        """A block that reads the input and writes the output in one call (``H5Ocopy``)."""
        try:
            yield
        except Exception as error:
            if not _from_h5py(error):
                raise
            if _WRITE_FAILURE.search(str(error)):
                raise _write_failed(self.output, self.temporary, f"copying {where}", error) from error
            raise _damaged(self.path, where, error) from error

    def attributes(self, source: Any, target: Any) -> None:
        where = f"the attributes of {source.name!r}"
        with self.reading(where):
            items = [(key, source.attrs[key], source.attrs.get_id(key).dtype) for key in source.attrs]
        with self.writing(where):
            for key, value, dtype in items:
                target.attrs.create(key, value, dtype=dtype)

    def group(self, source: h5py.Group, target: h5py.Group) -> None:
        self.attributes(source, target)
        with self.reading(f"the members of the group {source.name!r}"):
            members = list(source)
        for name in members:
            path = posixpath.join(source.name, name)
            with self.reading(f"the link {path!r}"):
                link = source.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                with self.writing(f"the link {path!r}"):
                    target[name] = (h5py.SoftLink(link.path) if isinstance(link, h5py.SoftLink)
                                    else h5py.ExternalLink(link.filename, link.path))
                continue
            with self.reading(f"the object {path!r}"):
                node = source[name]
                key = node.id
            if key in self.copied:
                with self.writing(f"the link {path!r}"):
                    target[name] = self.destination[self.copied[key]]  # a second hard link
                continue
            self.copied[key] = node.name
            if isinstance(node, h5py.Group):
                with self.writing(f"the group {path!r}"):
                    child = target.create_group(name)
                self.group(node, child)
            elif isinstance(node, h5py.Dataset) and key in self.targets:
                self.contiguous(node, target, name)
            else:
                with self.copying(repr(path)):
                    source.copy(node, target, name=name)

    def contiguous(self, source: h5py.Dataset, group: h5py.Group, name: str) -> None:
        """Write ``source`` into ``group[name]`` contiguous and uncompressed, band by band."""
        where = f"the dataset {source.name!r}"
        dtype = source.dtype if self.dtype is None else self.dtype
        with self.reading(where):
            fill = np.asarray(source.fillvalue).astype(dtype)
        with self.writing(f"the copy of {source.name!r}"):
            target = group.create_dataset(name, shape=source.shape, dtype=dtype, fillvalue=fill)
        self.attributes(source, target)
        if source.ndim == 0:
            with self.reading(where):
                value = np.asarray(source[()])
            if dtype != source.dtype:
                _check_exact(value.reshape(1), dtype, source)
            with self.writing(f"the copy of {source.name!r}"):
                target[()] = value.astype(dtype)
            return
        if source.size == 0:  # nothing to copy (only named empty datasets are refused)
            return
        rows = _band_rows(source)
        buffer = np.empty((rows,) + source.shape[1:], dtype=source.dtype)
        for first in range(0, source.shape[0], rows):
            last = min(first + rows, source.shape[0])
            part = buffer[: last - first]
            with self.reading(f"rows {first} to {last} of the dataset {source.name!r}"):
                source.read_direct(part, np.s_[first:last])
            if dtype != source.dtype:
                _check_exact(part, dtype, source)
                part = part.astype(dtype)
            with self.writing(f"the copy of {source.name!r}"):
                target.write_direct(np.ascontiguousarray(part), dest_sel=np.s_[first:last])

    def references(self) -> None:
        """Re-point object references: h5py's copy between files leaves them null."""
        self._attributes(self.source["/"])
        with self.reading("the objects of the file"):
            self.source.visititems(self._object)

    def _object(self, name: str, node: Any) -> None:
        self._attributes(node)
        with self.reading(f"the object {node.name!r}"):
            has = isinstance(node, h5py.Dataset) and _has_reference(node.dtype)
            value = node[()] if has else None
        if has:
            value = self._translate(value, node.dtype, node.name)
            with self.writing(f"the references of {node.name!r}"):
                self.destination[node.name][()] = value

    def _attributes(self, node: Any) -> None:
        with self.reading(f"the attributes of {node.name!r}"):
            found = [(key, node.attrs.get_id(key).dtype) for key in node.attrs]
            found = [(key, dtype, node.attrs[key]) for key, dtype in found if _has_reference(dtype)]
        for key, dtype, value in found:
            value = self._translate(value, dtype, f"{node.name} attribute {key!r}")
            with self.writing(f"the attribute {key!r} of {node.name!r}"):
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
        with self.reading(f"a reference in {where}"):
            name = h5py.h5r.get_name(ref, self.source.id)
        if name is None:
            raise UnsupportedCombinationError(
                f"{where} of {self.source.filename!r} refers to an object that has no path in the "
                "file; rechunk cannot copy such a reference."
            )
        with self.writing(f"a reference in {where}"):
            return self.destination[name.decode() if isinstance(name, bytes) else name].ref


# --- what to rewrite, and whether its values can all be read ---

def _named(handle: h5py.File, name: str, path: str) -> h5py.Dataset:
    """The dataset ``name`` of ``handle``; a clear error for anything else."""
    with _reading(path, f"the dataset {name!r}"):
        try:
            node = handle[name]
        except KeyError as error:
            try:  # a damaged group index raises here (RuntimeError): reported as damage
                link = handle.get(name, getlink=True)
            except KeyError:
                link = None
            if isinstance(link, h5py.SoftLink):
                raise MissingKeyError(f"rechunk: dataset {name!r} in {path!r} is a soft link to "
                                      f"{link.path!r}, which does not exist.") from error
            if isinstance(link, h5py.ExternalLink):
                raise DataFileNotFoundError(
                    f"rechunk: dataset {name!r} in {path!r} is an external link to {link.path!r} in "
                    f"{link.filename!r}, which cannot be opened.") from error
            if isinstance(link, h5py.HardLink):
                raise  # the link is there but its object cannot be read: damaged
            raise MissingKeyError(f"rechunk: dataset {name!r} does not exist in {path!r}.") from error
        if not isinstance(node, h5py.Dataset):
            raise MissingKeyError(f"rechunk: dataset {name!r} is a group in {path!r}.")
        if node.file.filename != handle.filename:
            raise UnsupportedCombinationError(
                f"rechunk: dataset {name!r} of {path!r} is reached through an external link, so its "
                f"values are in {node.file.filename!r}; rechunk copies links as links and rewrites "
                "only datasets of the file itself: rechunk that file instead."
            )
        if node.dtype.kind not in "biuf":
            raise NonNumericDataError(
                f"rechunk: dataset {name!r} of {path!r} has dtype {node.dtype}; only numeric "
                "datasets (integers, floats, booleans) are rewritten."
            )
        if node.shape is None or node.size == 0:
            shape = "no dataspace (h5py.Empty)" if node.shape is None else f"shape {node.shape}"
            raise EmptyFileError(
                f"rechunk: dataset {name!r} of {path!r} holds no values ({shape}); there is nothing "
                "to rewrite (rechunk copies such datasets unchanged when it is not asked for them)."
            )
    return node


def _targets(handle: h5py.File, datasets: Optional[List[str]], path: str) -> List[h5py.Dataset]:
    if datasets is None:
        found: List[h5py.Dataset] = []

        def visit(name: str, node: Any) -> None:
            if not isinstance(node, h5py.Dataset):
                return
            try:
                node.dtype
            except (TypeError, ValueError):  # no numpy type: not numeric; copied as it is
                return
            if slow_layout(node):
                found.append(node)

        with _reading(path, "the list of its objects"):
            handle.visititems(visit)
    else:
        found = [_named(handle, name, path) for name in datasets]
    unique: Dict[Any, h5py.Dataset] = {}
    for node in found:
        unique.setdefault(node.id, node)
    for node in unique.values():
        _check_values(node, path, set())
    return list(unique.values())


def _check_values(node: h5py.Dataset, path: str, seen: Set[Tuple[str, str]]) -> None:
    """Refuse a dataset some of whose values HDF5 would replace by its fill value, or cannot decode.

    HDF5 reads a virtual dataset's missing source file, and the missing end of an external raw
    file, as the fill value without an error: the copy would hold zeros where the data was.
    """
    with _reading(path, f"the layout of the dataset {node.name!r}"):
        virtual, external = node.is_virtual, node.external
        plist = node.id.get_create_plist()
        filters = [plist.get_filter(index) for index in range(plist.get_nfilters())]
    for code, _flags, _values, filter_name in filters:
        if not h5py.h5z.filter_avail(code):
            name = filter_name.decode(errors="replace") if isinstance(filter_name, bytes) else filter_name
            raise MissingDependencyError(
                f"rechunk: the dataset {node.name!r} of {path!r} is compressed with the HDF5 filter "
                f"{name!r} (id {code}), which h5py cannot decode here; install the filter plugins with "
                "pip install hdf5plugin (and import hdf5plugin before calling rechunk)."
            )
    if virtual:
        _check_virtual(node, path, seen)
    if external:
        _check_external(node, path)


def _has_pattern(name: str) -> bool:
    return "%" in name.replace("%%", "")


def _vds_candidates(file_name: str, node: h5py.Dataset, path: str) -> List[str]:
    """Where HDF5 looks for a virtual dataset's source file, in its order."""
    candidates, name = [], file_name
    if os.path.isabs(file_name):
        candidates.append(file_name)
        name = os.path.basename(file_name)  # then looked up like a relative name
    origin = os.path.dirname(os.path.abspath(path))
    prefixes = [p for p in os.environ.get("HDF5_VDS_PREFIX", "").split(os.pathsep) if p]
    own = node.id.get_access_plist().get_virtual_prefix()
    if own:
        prefixes.append(os.fsdecode(own))
    candidates += [os.path.join(p.replace("${ORIGIN}", origin), name) for p in prefixes]
    candidates += [os.path.join(origin, name), os.path.abspath(name)]
    return candidates


def _check_virtual(node: h5py.Dataset, path: str, seen: Set[Tuple[str, str]]) -> None:
    """Every source of a virtual dataset is present, a dataset, and covers its mapped part."""
    key = (os.path.abspath(path), node.name)
    if key in seen:
        return
    seen.add(key)
    with _reading(path, f"the sources of the virtual dataset {node.name!r}"):
        mappings = node.virtual_sources()
    for mapping in mappings:
        file_name, dset_name = mapping.file_name, mapping.dset_name
        what = f"the virtual dataset {node.name!r} of {path!r}"
        if _has_pattern(file_name) or _has_pattern(dset_name):
            raise UnsupportedCombinationError(
                f"rechunk: {what} names its sources by a pattern ({dset_name!r} in {file_name!r}); "
                "rechunk cannot check that every source is present, and HDF5 reads a missing one as "
                "fill values, so it does not copy it."
            )
        if file_name == ".":
            found = os.path.abspath(path)
        else:
            candidates = _vds_candidates(file_name, node, path)
            found = next((c for c in candidates if os.path.isfile(c) and h5py.is_hdf5(c)), None)
            if found is None:
                raise DataFileNotFoundError(
                    f"rechunk: {what} takes values from {dset_name!r} in {file_name!r}, which does not "
                    f"exist (looked for {', '.join(repr(c) for c in dict.fromkeys(candidates))}); "
                    "HDF5 would copy fill values in their place."
                )
        with _reading(found, f"{dset_name!r}, a source of {what}"):
            with h5py.File(found, "r") as other:
                source = other.get(dset_name)
                if not isinstance(source, h5py.Dataset):
                    raise MissingKeyError(
                        f"rechunk: {what} takes values from {dset_name!r} in {found!r}, which has no "
                        "such dataset; HDF5 would copy fill values in their place."
                    )
                _check_covered(mapping, source.shape, f"{what} maps", f"{dset_name!r} in {found!r}")
                _check_values(source, found, seen)


def _check_covered(mapping: Any, shape: Optional[Tuple[int, ...]], what: str, source: str) -> None:
    """The source dataset (of ``shape``) holds every value a virtual mapping reads from it."""
    space = mapping.src_space
    try:
        if space.get_select_type() == h5py.h5s.SEL_ALL:  # the whole source, whatever its shape
            needed = int(mapping.vspace.get_select_npoints())
            part = f"{needed} values"
            short = shape is None or int(np.prod(shape, dtype=np.int64)) < needed
        else:
            last = tuple(int(end) + 1 for end in space.get_select_bounds()[1])
            part = f"the block up to {last}"
            short = shape is None or len(shape) != len(last) or any(e > n for e, n in zip(last, shape))
    except Exception:  # noqa: BLE001 - a selection h5py cannot describe: HDF5 checks it on reading
        return
    if short:
        raise CorruptFileError(
            f"rechunk: {what} {part} of {source}, but that dataset has shape {shape}; HDF5 would "
            "copy fill values for the missing part."
        )


def _check_external(node: h5py.Dataset, path: str) -> None:
    """Every external raw file of ``node`` exists and holds all the bytes the dataset reads from it."""
    prefix = external_file_prefix(node, os.path.abspath(path))  # HDF5's lookup of relative names
    needed = int(node.size) * node.dtype.itemsize
    for name, offset, size in node.external:
        if needed <= 0:
            break
        take = needed if size == h5py.h5f.UNLIMITED else min(int(size), needed)
        name = os.fsdecode(name)
        full = os.path.abspath(name if os.path.isabs(name) else os.path.join(prefix, name))
        what = f"the dataset {node.name!r} of {path!r} stores its values in the external raw file {name!r}"
        if not os.path.isfile(full):
            raise DataFileNotFoundError(
                f"rechunk: {what}, which does not exist (looked for {full!r}). Relative raw file "
                "names are found from the current directory unless HDF5_EXTFILE_PREFIX says otherwise."
            )
        actual = os.path.getsize(full)
        if actual < int(offset) + take:
            raise CorruptFileError(
                f"rechunk: {what}, which is truncated: it has {actual} bytes, but the dataset reads "
                f"bytes {int(offset)} to {int(offset) + take} of it; HDF5 would read the missing part "
                "as zeros."
            )
        needed -= take


# --- the arguments ---

def _local_path(value: Any, what: str) -> pathlib.Path:
    if is_url(value):
        raise UnsupportedURLError(
            f"rechunk reads and writes local files only, but the {what} is the URL {value!r}; "
            "download the file first and pass its path."
        )
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"rechunk: the {what} should be a path (str or pathlib.Path), but got "
                        f"{type(value).__name__}.")
    text = os.fspath(value)
    if not isinstance(text, str):
        raise TypeError(f"rechunk: the {what} should be a path (str or pathlib.Path), but got "
                        f"{type(text).__name__} {text!r}.")
    if not text:
        raise ValueError(f"rechunk: the {what} is an empty path.")
    return pathlib.Path(text)


def _dataset_names(datasets: Any) -> Optional[List[str]]:
    if datasets is None:
        return None
    if isinstance(datasets, str):
        return [datasets]
    if not isinstance(datasets, (list, tuple)) or not all(isinstance(n, str) for n in datasets):
        raise TypeError(
            "rechunk: datasets should be None, a dataset path (str) or a list or tuple of them, "
            f"but got {reprlib.repr(datasets)}."
        )
    if not datasets:
        raise ValueError("rechunk: datasets=[] names no dataset; pass datasets=None to rewrite every "
                         "chunked, virtual or external numeric dataset.")
    return list(datasets)


def _check_source(path: pathlib.Path) -> None:
    where = str(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataFileNotFoundError(f"rechunk: no such file: {where!r}.") from None
    except OSError as error:
        raise DataFileNotFoundError(f"rechunk: cannot open {where!r}: {error.strerror or error}.") from error
    if stat.S_ISDIR(info.st_mode):
        raise DataFileNotFoundError(f"rechunk: {where!r} is a directory, not an HDF5 file.")
    if info.st_size == 0:
        raise EmptyFileError(f"rechunk: {where!r} is empty (0 bytes), not an HDF5 file.")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise _os_error(error, f"rechunk: cannot read {where!r}: {error.strerror or error}.") from error
    try:
        signed = h5py.is_hdf5(path)
    except Exception:  # noqa: BLE001 - an unreadable signature is no signature
        signed = False
    if not signed:
        raise CorruptFileError(f"rechunk: {where!r} is not an HDF5 (or NWB) file.")


def _open_source(path: pathlib.Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except Exception as error:
        if not (_from_h5py(error) or isinstance(error, OSError)) or isinstance(error, CebraDataError):
            raise
        reason = _reason(error)
        if re.search(r"\block file\b", reason, re.IGNORECASE):
            raise OSError(f"rechunk: {str(path)!r} is locked by another program that has it open for "
                          f"writing ({reason}); close that program first.") from error
        raise CorruptFileError(
            f"rechunk: {str(path)!r} cannot be opened as HDF5: it is truncated or damaged ({reason})."
        ) from error


def _check_destination(target: pathlib.Path, source: pathlib.Path, overwrite: bool) -> None:
    where = str(target)
    if os.path.lexists(target):
        if target.is_dir():
            raise DestinationExistsError(
                f"rechunk: {where!r} is a directory; give the path of the file to write, e.g. "
                f"{str(target / source.name)!r}."
            )
        if target.exists() and target.resolve() == source.resolve():
            raise ValueError(f"rechunk: the destination is the source file {str(source)!r}; "
                             "write to another file.")
        if not overwrite:
            raise DestinationExistsError(
                f"rechunk: {where!r} exists; pass overwrite=True (--overwrite) to replace it."
            )
    folder = pathlib.Path(os.path.abspath(target)).parent
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise DataFileNotFoundError(f"rechunk: cannot write {where!r}: the folder {str(folder)!r} {state}.")


def _temporary(target: pathlib.Path) -> str:
    """An empty file next to ``target`` (same folder, so the final rename cannot cross file systems).

    Created with mode ``0o666`` less the process's umask, as any new file: the output gets
    the permissions a plain ``h5py.File(target, "w")`` would give it (``tempfile.mkstemp``
    would make it private to its owner).
    """
    folder = pathlib.Path(os.path.abspath(target)).parent
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temporary = str(folder / f".{target.name[:64]}.{secrets.token_hex(6)}.partial")
        try:
            os.close(os.open(temporary, flags, 0o666))
        except FileExistsError:
            continue  # another name; a clash of 48 random bits is next to impossible
        except OSError as error:
            raise _os_error(error, f"rechunk: cannot write {str(target)!r}: creating a file in "
                                   f"{str(folder)!r} failed ({error.strerror or error}).") from error
        return temporary
    raise FileExistsError(f"rechunk: cannot write {str(target)!r}: no free temporary name in "
                          f"{str(folder)!r}.")


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
    The copy is written to a hidden file next to ``destination`` and renamed into place
    when complete; on any error that file is removed and ``destination`` is left as it was.
    ``cebra-data rechunk IN OUT [--dataset PATH ...]`` runs this function.

    Before anything is written, every dataset to rewrite is checked: a virtual dataset
    whose source file or dataset is missing, or an external raw file that is missing or
    shorter than the dataset, is refused (HDF5 would read fill values in their place, and
    the copy would silently hold zeros), as is a compression filter h5py cannot decode.

    Args:
        source: the HDF5 or NWB file (a local path; URLs are refused).
        destination: the file to write (must differ from ``source``; its folder must exist).
        datasets: the path or the list of paths of the datasets to rewrite; by default every
            numeric dataset stored chunked (compressed or not), virtual or in external files
            (datasets without values are then left as they are).
        dtype: ``None`` (default) keeps each rewritten dataset's dtype; ``"float32"``
            converts them to float32, the values :class:`~cebra_data.HDF5Dataset` samples,
            so that an integer signal (e.g. int16 voltages) can be memory-mapped too (with a
            warning if an integer beyond 2**24 is rounded).
        overwrite: ``True`` to replace an existing ``destination`` file (a bool).

    Returns:
        The paths of the rewritten datasets.

    Raises:
        cebra_data.errors.DataFileNotFoundError: if ``source`` does not exist (or is a
            directory), if the folder of ``destination`` does not exist, or if a virtual
            dataset's source file or an external raw file to copy does not exist.
        cebra_data.errors.EmptyFileError: if ``source`` has 0 bytes, or a named dataset holds
            no values (no rows, or a null dataspace).
        cebra_data.errors.CorruptFileError: if ``source`` is not an HDF5 file, is truncated or
            damaged (the message names the object whose reading failed), or an external raw
            file to copy is shorter than its dataset.
        cebra_data.errors.DestinationExistsError: if ``destination`` exists and not
            ``overwrite``, or is a directory.
        cebra_data.errors.MissingKeyError: for a dataset path the file lacks (or a group).
        cebra_data.errors.NonNumericDataError: for a named dataset that is not numeric.
        cebra_data.errors.MissingDependencyError: if a dataset to rewrite is compressed with
            a filter h5py cannot decode (``pip install hdf5plugin``).
        cebra_data.errors.UnsupportedCombinationError: for a dataset reached through an
            external link, or a virtual dataset whose sources are named by a pattern.
        cebra_data.errors.UnsupportedURLError: if ``source`` or ``destination`` is a URL.
        OSError: if ``destination`` cannot be written (read-only file system, no permission,
            disk full); the message names ``destination`` and the reason.
        TypeError: if a path is not a str or path, ``datasets`` not a str or a list or tuple
            of str, or ``overwrite`` not a bool.
        ValueError: if ``destination`` is ``source``, for an empty path or ``datasets=[]``,
            or for a ``dtype`` other than float32.

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
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"rechunk: overwrite should be True or False, but got {overwrite!r}.")
    target_dtype = None if dtype is None else np.dtype(np.float32)
    source_path = _local_path(source, "source")
    target_path = _local_path(destination, "destination")
    names = _dataset_names(datasets)
    _check_source(source_path)
    _check_destination(target_path, source_path, bool(overwrite))
    path, output = str(source_path), str(target_path)
    with _open_source(source_path) as src:
        nodes = _targets(src, names, path)
        rewritten = [node.name for node in nodes]
        temporary = _temporary(target_path)
        try:
            try:
                dst = h5py.File(temporary, "w")
            except Exception as error:
                if not _from_h5py(error):
                    raise
                raise _write_failed(output, temporary, "creating the file", error) from error
            try:
                copier = _Copier(src, dst, nodes, target_dtype, path, output, temporary)
                copier.group(src["/"], dst["/"])
                copier.references()
            except BaseException:
                with contextlib.suppress(Exception):
                    dst.close()
                raise
            with copier.writing("the end of the file"):
                dst.close()  # HDF5 writes what it buffered now: a full disk may show only here
            try:
                os.replace(temporary, target_path)
            except OSError as error:
                raise _os_error(error, f"rechunk: cannot put the finished copy in place as "
                                       f"{output!r}: {error.strerror or error}.") from error
        except BaseException:
            pathlib.Path(temporary).unlink(missing_ok=True)
            raise
    return rewritten
