"""Readers for HDF5 files (``.h5 .hdf .hdf5 .h``) and MATLAB v7.3 files, through h5py.

Entries are listed depth first; inside each group, members come in the file's own order
(alphabetical, unless the file was written with ``track_order=True``). A dataset is one
entry named by its path without the leading ``/`` (``"group/sub/data"``). A group written
by pandas (``DataFrame.to_hdf``, DeepLabCut files) is one entry named by the group's path;
it is decoded by :mod:`cebra_data.io._pandas_hdf` without PyTables. Layouts that decoder
does not handle are read with :func:`pandas.read_hdf` only when ``trusted=True``, because
PyTables unpickles metadata stored in the file.

MATLAB v7.3 files are HDF5 files with a 512-byte text header. Their arrays are stored in
column-major order and are transposed back to MATLAB's shape (the shape
:func:`scipy.io.loadmat` gives for older files); structs become groups, so a field is
addressed as ``"struct/field"`` in both versions. Character arrays, cell arrays and the
internal ``#refs#`` group are not numeric and are skipped by the default selection.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import warnings
from collections.abc import Iterator
from typing import Any, Optional, Union

import h5py
import numpy as np
import pandas as pd

from cebra_data.errors import (
    DataChangedWarning,
    CebraDataError,
    CorruptFileError,
    MissingDependencyError,
    MissingKeyError,
    NonNumericDataError,
    UnsafeFileError,
)
from cebra_data.io._pandas_hdf import (
    UnsupportedLayout,
    check_filters,
    decode_pandas_group,
    index_values,
    pandas_type,
    text_attribute,
)
from cebra_data.io.reader import (
    HEAD_SIZE,
    Entry,
    NonArray,
    Reader,
    Table,
    check_dense_size,
    is_numeric_dtype,
    listing,
)
from cebra_data.io.registry import check_file, register_reader

__all__ = [
    "HDF5_SIGNATURE",
    "Hdf5Reader",
    "Mat73Reader",
    "MatHdf5Reader",
    "densify_sparse",
    "external_file_prefix",
    "has_external_links",
    "hdf5_signature_offset",
    "matlab_object",
    "read_pandas_hdf",
]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def external_file_prefix(node: h5py.Dataset, path: str) -> str:
    """The folder under which HDF5 looks up ``node``'s relative external raw file names, absolute.

    ``HDF5_EXTFILE_PREFIX`` or the dataset's access property (``${ORIGIN}`` is the folder of
    the HDF5 file ``path``); by default the current directory.
    """
    prefix = os.environ.get("HDF5_EXTFILE_PREFIX")
    if prefix is None:
        prefix = node.id.get_access_plist().get_efile_prefix().decode()
    return os.path.abspath(prefix.replace("${ORIGIN}", os.path.dirname(path)))


def hdf5_signature_offset(head: bytes) -> int:
    """Offset of the HDF5 signature in ``head`` (0, 512, 1024 or 2048), or -1."""
    for offset in (0, 512, 1024, 2048):
        if head[offset:offset + len(HDF5_SIGNATURE)] == HDF5_SIGNATURE:
            return offset
    return -1


def _read_pandas(path: pathlib.Path, group: Any, trusted: bool, force: bool = False) -> Any:
    """Decode ``group`` safely; with ``trusted``, fall back to (or, with ``force``, use) pandas."""
    try:
        if not force:
            return decode_pandas_group(group)
        raise UnsupportedLayout("read by pandas on request")
    except UnsupportedLayout as reason:
        if not trusted:
            raise UnsafeFileError(
                f"The pandas object {group.name!r} in '{path}' uses a layout ({reason}) that "
                "only pandas/PyTables can read, and PyTables unpickles metadata stored in the "
                "file (which can run code). If you trust the file, pass trusted=True."
            ) from None
    try:
        import tables  # noqa: F401  (optional; pandas needs it for HDF5)
    except ImportError as exc:
        raise MissingDependencyError(
            f"Reading the pandas object {group.name!r} in '{path}' needs PyTables: "
            "pip install tables"
        ) from exc
    return pd.read_hdf(path, key=group.name)


def _read_dataset(dataset: Any, matlab: bool) -> Any:
    try:
        check_filters(dataset)
    except UnsupportedLayout as reason:
        raise MissingDependencyError(
            f"Cannot read {reason}; install the filter plugins with: pip install hdf5plugin "
            "(and import hdf5plugin before loading)."
        ) from None
    if matlab and dataset.attrs.get("MATLAB_empty", 0):
        return np.empty((0,), dtype=np.float64)
    array = dataset[()]
    if isinstance(array, np.ndarray) and array.dtype.names == ("real", "imag"):
        array = array["real"] + 1j * array["imag"]
    if matlab:
        array = np.asarray(array).T
        matlab_class = dataset.attrs.get("MATLAB_class", b"")
        if matlab_class == b"logical":
            array = array.astype(bool)
        elif matlab_class == b"char":  # UTF-16 code units, one string along the last axis
            array = _matlab_strings(np.atleast_2d(array))
        elif matlab_class == b"cell" or array.dtype.kind == "O":
            return NonArray("MATLAB cell array")
    return np.asarray(array)


def _matlab_strings(codes: np.ndarray) -> np.ndarray:
    """A MATLAB char array (UTF-16 code units) as strings along its last axis.

    The shape :func:`scipy.io.loadmat` gives older files: a ``(rows, length)`` char array
    becomes ``rows`` strings, a ``(a, b, length)`` one an ``(a, b)`` array of strings.
    """
    if codes.shape[-1] == 0 or codes.size == 0:
        return np.full(codes.shape[:-1], "", dtype="<U1")
    rows = codes.reshape(-1, codes.shape[-1])
    strings = ["".join(map(chr, row.tolist())) for row in rows]
    return np.array(strings, dtype=f"<U{max([1] + [len(t) for t in strings])}").reshape(
        codes.shape[:-1])


def matlab_object(matlab_class: str) -> NonArray:
    """The value of a MATLAB class object (``table``, ``string``, ``datetime`` ...).

    Such objects (MATLAB's MCOS classes) are stored as opaque references into MATLAB's
    own serialisation, which only MATLAB decodes (scipy and h5py give their raw bytes), so
    they are listed as entries but read as no array; the message says how to export them.

    Example:
        >>> from cebra_data.io.hdf5 import matlab_object
        >>> matlab_object("table").type_name
        "MATLAB object of class 'table'"
    """
    return NonArray(
        f"MATLAB object of class {matlab_class!r}",
        "MATLAB objects cannot be read outside MATLAB (only their opaque bytes are stored "
        "in a form other programs know). In MATLAB, convert it to numbers and save those, "
        "e.g. A = table2array(T) for a table (or double(x), datenum(t)), then "
        "save('file.mat', 'A') or save('file.mat', 'A', '-v7.3').",
    )


def _unreadable_entry(name: str, reason: str) -> Entry:
    """An entry that is listed (so ``inspect`` shows it) but fails only when it is read."""

    def read() -> Any:
        raise NonNumericDataError(f"Dataset {name!r} {reason}")

    return Entry(name, read, dtype="unsupported", numeric=False)


def _matlab_text(value: Any) -> str:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _sparse_entry(name: str, group: Any) -> Entry:
    """A MATLAB v7.3 sparse matrix: ``data``/``ir``/``jc`` in a group, densified on read."""
    n_rows = int(np.asarray(group.attrs["MATLAB_sparse"]).reshape(-1)[0])
    jc = group.get("jc")
    n_cols = max(int(jc.shape[0]) - 1, 0) if isinstance(jc, h5py.Dataset) and jc.shape else 0
    matlab_class = _matlab_text(group.attrs.get("MATLAB_class", b"double"))
    dtype = np.dtype(bool) if matlab_class == "logical" else np.dtype(np.float64)

    def read() -> np.ndarray:
        where = f"The MATLAB sparse matrix {name!r}"
        parts = {k: group[k][()] if isinstance(group.get(k), h5py.Dataset) else None
                 for k in ("data", "ir", "jc")}
        data, ir, jc_values = parts["data"], parts["ir"], parts["jc"]
        if jc_values is None:
            raise CorruptFileError(f"{where} has no column pointers (jc).")
        if data is None:  # an all-zero sparse matrix stores no data
            data, ir = np.zeros(0, dtype), np.zeros(0, np.int64)
        if isinstance(data, np.ndarray) and data.dtype.names == ("real", "imag"):
            data = data["real"] + 1j * data["imag"]
        return densify_sparse(data, ir, jc_values, (n_rows, n_cols), where)

    return Entry(name, read, shape=(n_rows, n_cols), dtype=str(dtype), numeric=True)


def densify_sparse(data: Any, indices: Any, indptr: Any, shape: tuple[int, int],
                   where: str) -> np.ndarray:
    """A checked compressed-sparse-column matrix as a dense array.

    Args:
        data: The non-zero values.
        indices: The row of each value.
        indptr: Where each column's values start (``shape[1] + 1`` entries).
        shape: ``(rows, columns)``.
        where: What the matrix is, for messages.

    Returns:
        The dense ``(rows, columns)`` array.

    Raises:
        CorruptFileError: the parts are inconsistent (an index out of range ...).
        DenseTooLargeError: the dense array would not fit in memory.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.hdf5 import densify_sparse
        >>> densify_sparse(np.array([5.0]), np.array([1]), np.array([0, 0, 1]), (2, 2), "m")
        array([[0., 0.],
               [0., 5.]])
    """
    data, indices, indptr = (np.asarray(a).reshape(-1) for a in (data, indices, indptr))
    n_rows, n_cols = shape
    if n_rows < 0 or n_cols < 0 or indptr.shape != (n_cols + 1,) \
            or indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu" \
            or data.dtype.kind not in "biufc" or len(indices) != len(data) \
            or (len(indptr) and (indptr[0] != 0 or indptr[-1] != len(data)
                                 or np.any(np.diff(indptr.astype(np.int64)) < 0))) \
            or (len(indices) and (indices.min() < 0 or indices.max() >= n_rows)):
        raise CorruptFileError(
            f"{where} is corrupted: its row indices, column pointers and values do not "
            f"agree with its shape {shape}."
        )
    check_dense_size(shape, data.dtype, where)
    dense = np.zeros(shape, dtype=data.dtype)
    columns = np.repeat(np.arange(n_cols), np.diff(indptr.astype(np.int64)))
    np.add.at(dense, (indices.astype(np.intp), columns), data)
    return dense


def _dataset_entry(name: str, dataset: Any, matlab: bool) -> Entry:
    try:
        dtype = dataset.dtype
    except (TypeError, ValueError) as exc:
        return _unreadable_entry(name, f"has an HDF5 type numpy cannot represent ({exc}), "
                                 "so it cannot be loaded; the file's other entries can.")
    if matlab and "MATLAB_object_decode" in dataset.attrs:
        matlab_class = _matlab_text(dataset.attrs.get("MATLAB_class", b"object"))

        return Entry(name, lambda: matlab_object(matlab_class),
                     dtype=f"MATLAB {matlab_class} object", numeric=False)
    shape = tuple(int(s) for s in dataset.shape) if dataset.shape is not None else ()
    if dtype.subdtype is not None:  # an HDF5 array type: h5py reads it as trailing axes
        dtype, shape = dtype.subdtype[0], shape + tuple(int(s) for s in dtype.subdtype[1])
    numeric = (is_numeric_dtype(dtype) or dtype.names == ("real", "imag")) \
        and dataset.shape is not None
    if matlab:
        matlab_class = dataset.attrs.get("MATLAB_class", b"")
        if isinstance(matlab_class, bytes) and matlab_class in (b"char", b"cell", b"function_handle"):
            numeric = False
        shape = shape[::-1]
        if dataset.attrs.get("MATLAB_empty", 0):
            shape = (0,)
    return Entry(name, lambda: _read_dataset(dataset, matlab), shape=shape,
                 dtype=str(dtype) if numeric else f"{dtype} (not numeric)", numeric=numeric)


def _walk(group: Any, path: pathlib.Path, trusted: bool, matlab: bool, out: list[Entry]) -> None:
    """Append the entries below ``group`` depth first, members in the file's order."""
    for member in group:
        link = group.get(member, getlink=True)
        if isinstance(link, h5py.ExternalLink) and not trusted:
            continue  # points into another file; never followed for untrusted files
        if matlab and member.startswith("#"):
            continue  # MATLAB's internal #refs# / #subsystem# groups
        node = group.get(member)
        if node is None:
            continue  # dangling soft link
        name = node.name.lstrip("/") if node.name else member
        if isinstance(node, h5py.Dataset):
            out.append(_dataset_entry(name, node, matlab))
        elif isinstance(node, h5py.Group):
            if matlab and "MATLAB_sparse" in node.attrs:
                out.append(_sparse_entry(name, node))
            elif pandas_type(node) is not None:
                out.append(Entry(name, lambda node=node: _read_pandas(path, node, trusted)))
            else:
                _walk(node, path, trusted, matlab, out)


def has_external_links(group: Any, depth: int = 0) -> bool:
    """Whether ``group`` or a group below it holds an HDF5 external link (into another file).

    Such links are followed only for trusted files: a crafted link can read any file on
    the machine.
    """
    for member in group:
        link = group.get(member, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            return True
        node = group.get(member) if depth < 32 else None
        if isinstance(node, h5py.Group) and has_external_links(node, depth + 1):
            return True
    return False


class Hdf5Reader(Reader):
    """HDF5 datasets (nested paths), pandas HDF groups and DeepLabCut ``.h5`` files."""

    name = "hdf5"
    suffixes = (".h5", ".hdf", ".hdf5", ".h")
    description = "HDF5"
    matlab = False

    def can_read(self, head: bytes) -> bool:
        """HDF5 files carry the signature ``\\x89HDF\\r\\n\\x1a\\n`` at 0 or after a user block."""
        return hdf5_signature_offset(head) >= 0

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Open the file read-only and yield its entries (depth first, file order)."""
        with h5py.File(path, "r") as handle:
            entries: list[Entry] = []
            _walk(handle, path, trusted, self.matlab, entries)
            if not entries and not trusted and has_external_links(handle):
                raise UnsafeFileError(
                    f"'{path}' holds only external links, which point into other files; they "
                    "are followed only with trusted=True (a crafted link can read any file "
                    "on this machine). If you trust the file, pass trusted=True."
                )
            yield entries


register_reader(Hdf5Reader())


class Mat73Reader(Hdf5Reader):
    """MATLAB v7.3 ``.mat`` files (HDF5 with a 512-byte MATLAB header)."""

    name = "matlab-v7.3"
    suffixes = (".mat",)
    description = "MATLAB v7.3 (HDF5)"
    matlab = True

    def can_read(self, head: bytes) -> bool:
        """v7.3 files have MATLAB's text header and the HDF5 signature after its 512 bytes."""
        return head.startswith(b"MATLAB") and hdf5_signature_offset(head) == 512


register_reader(Mat73Reader())


class MatHdf5Reader(Hdf5Reader):
    """A plain HDF5 file named ``.mat`` (no MATLAB header): read as HDF5, not transposed."""

    name = "hdf5-mat"
    suffixes = (".mat",)
    description = "HDF5 (named .mat)"
    matlab = False

    def can_read(self, head: bytes) -> bool:
        """HDF5 without MATLAB's header."""
        return hdf5_signature_offset(head) >= 0 and not head.startswith(b"MATLAB")


register_reader(MatHdf5Reader())


# ----------------------------------------------------------------------------- pandas objects


def _pandas_groups(group: Any, out: dict[str, Any]) -> None:
    """Collect the pandas groups below ``group`` (depth first, file order) by key."""
    for member in group:
        if isinstance(group.get(member, getlink=True), h5py.ExternalLink):
            continue  # never followed: the object would come from another file
        node = group.get(member)
        if isinstance(node, h5py.Group):
            if pandas_type(node) is not None:
                out[node.name] = node
            else:
                _pandas_groups(node, out)


def _frame(table: Table, where: str) -> pd.DataFrame:
    """A table of numeric columns as a DataFrame (labels 0..n-1, with a warning, if unknown)."""
    if len(set(table.dtypes)) <= 1:
        values = table.take() if table.columns else np.empty((table.n_rows, 0))
        frame = pd.DataFrame(np.array(values, copy=True))
    else:  # keep each column's dtype
        frame = pd.DataFrame({k: table.take([k])[:, 0].copy() for k in range(len(table.columns))})
    if any(isinstance(c, tuple) for c in table.columns):
        frame.columns = pd.MultiIndex.from_tuples(table.columns, names=table.names)
    else:
        frame.columns = pd.Index(table.columns, name=table.names[0] if table.names else None)
    index = table.index
    if index is None:
        warnings.warn(
            f"The row labels of {where} are of a kind read only by pandas/PyTables; the "
            "DataFrame gets the labels 0..n-1 instead. Pass trusted=True to keep them.",
            DataChangedWarning,
            stacklevel=3,
        )
    elif any(isinstance(i, tuple) for i in index):
        frame.index = pd.MultiIndex.from_tuples(list(index), names=table.index_names)
    else:
        frame.index = pd.Index(list(index), name=table.index_names[0])
    return frame


def _series(group: Any, values: np.ndarray) -> pd.Series:
    series = pd.Series(np.array(values, copy=True))
    node = group.get("index")
    if node is not None and "kind" in node.attrs:
        labels = index_values(node[()], text_attribute(node.attrs["kind"]), "UTF-8")
        if labels is not None and len(labels) == len(series):
            series.index = pd.Index(labels)
    return series


def read_pandas_hdf(
    file: Union[str, pathlib.Path], key: Optional[str] = None, *, trusted: bool = False
) -> Union[pd.DataFrame, pd.Series]:
    """Read a pandas object (``DataFrame.to_hdf``, DeepLabCut ``.h5``) without running code.

    Like :func:`pandas.read_hdf`, but the object is decoded with h5py and the restricted
    unpickler (see :mod:`cebra_data.io._pandas_hdf`), so PyTables never unpickles the
    file's metadata. Numeric frames and series of either layout (``fixed``, ``table``)
    are decoded, with their column labels and level names, and their row labels when
    those are strings, numbers or dates. Other objects (text columns, other label kinds)
    are read with :func:`pandas.read_hdf` when ``trusted=True``.

    Args:
        file: An HDF5 file (any suffix).
        key: The object's key (``"df_with_missing"``, ``"/group/frame"``); ``None`` takes
            the file's only pandas object.
        trusted: Let pandas/PyTables read what is not decoded here.

    Returns:
        The :class:`pandas.DataFrame` (or :class:`pandas.Series`) stored under ``key``.

    Raises:
        MissingKeyError: no pandas object under ``key`` (lists the keys; a ``KeyError``
            as in pandas).
        ValueError: ``key`` is ``None`` and the file holds no pandas object or several.
        NonNumericDataError: the frame has text or object columns and ``trusted`` is False.
        UnsafeFileError: the layout is one only PyTables reads and ``trusted`` is False.
        DataFileNotFoundError, EmptyFileError, CorruptFileError: as in
            :func:`~cebra_data.io.load_data`.

    Example:
        >>> import pandas as pd
        >>> from cebra_data.io.hdf5 import read_pandas_hdf
        >>> frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}, index=[10, 11])
        >>> frame.to_hdf(tmp_path / "frame.h5", key="df")
        >>> read_pandas_hdf(tmp_path / "frame.h5")
              x    y
        10  1.0  3.0
        11  2.0  4.0
    """
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key should be a string or None, but got key={key!r} of type "
                        f"{type(key).__name__}.")
    if not isinstance(trusted, bool):
        raise TypeError(f"trusted should be True or False, but got trusted={trusted!r}.")
    path = check_file(file)
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
    if hdf5_signature_offset(head) < 0:
        raise CorruptFileError(f"'{path}' is not an HDF5 file (its first bytes are {head[:8]!r}).")
    try:
        with h5py.File(path, "r") as handle:
            objects: dict[str, Any] = {}
            _pandas_groups(handle, objects)
            keys = list(objects)
            if key is None:
                if len(keys) != 1:
                    raise ValueError(
                        f"'{path}' holds {len(keys)} pandas objects ({listing(keys)}); "
                        "pass key=... to choose one." if keys else
                        f"'{path}' holds no pandas object (nothing written by "
                        "DataFrame.to_hdf); read its arrays with load_data."
                    )
                group = objects[keys[0]]
            else:
                group = objects.get("/" + key.strip("/"))
                if group is None:
                    raise MissingKeyError(
                        f"No pandas object named {key!r} in '{path}'. Its pandas objects are: "
                        f"{listing(keys)}."
                    )
            value = _read_pandas(path, group, trusted)
            if isinstance(value, (pd.DataFrame, pd.Series)):
                return value  # trusted, read by pandas
            if isinstance(value, Table):
                bad = [c for c, d in zip(value.columns, value.dtypes) if not is_numeric_dtype(d)]
                if not bad and (value.index is not None or not trusted):
                    return _frame(value, f"{group.name!r} in '{path}'")
                if not trusted:
                    raise NonNumericDataError(
                        f"The pandas object {group.name!r} in '{path}' has text or object "
                        f"column(s) {listing(bad)}, which only pandas/PyTables reads (and "
                        "PyTables unpickles metadata, which can run code). If you trust the "
                        "file, pass trusted=True."
                    )
                return _read_pandas(path, group, trusted=True, force=True)
            return _series(group, np.asarray(value))
    except (CebraDataError, ValueError, TypeError):
        raise
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read '{path}' as an HDF5 file with pandas objects; it looks corrupted "
            f"or truncated ({type(exc).__name__}: {exc})."
        ) from exc
