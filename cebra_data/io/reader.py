"""The reader interface: what every file reader implements and hands to ``load_data``.

A :class:`Reader` opens one file format. It names its suffixes, recognises its files
cheaply from their first bytes (:meth:`Reader.can_read`, magic numbers first) and yields
the file's :class:`Entry` objects from :meth:`Reader.entries`, one per array-like thing
stored in it (an HDF5 dataset, an ``.npz`` member, a dictionary value, an Excel sheet ...).
Entries are read lazily: only the entry that is selected is materialised. Tabular data
(DataFrames, csv files, pandas HDF groups, DeepLabCut files) is represented by
:class:`Table`, which keeps column labels and per-column dtypes and reads only the columns
that are asked for.

Readers are registered in :mod:`cebra_data.io.registry`, which maps a path to its reader.
"""

from __future__ import annotations

import abc
import contextlib
import csv
import functools
import io
import math
import numbers
import os
import pathlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np
import pandas as pd
import torch

from cebra_data.errors import (
    CorruptFileError,
    DenseTooLargeError,
    EmptyFileError,
    MissingColumnError,
    MissingKeyError,
    NonNumericDataError,
)

__all__ = [
    "HEAD_SIZE",
    "NUMERIC_KINDS",
    "DenseTooLargeError",
    "Entry",
    "NonArray",
    "Reader",
    "Table",
    "Value",
    "CSV_SAMPLE",
    "as_value",
    "check_dense_size",
    "check_row_widths",
    "csv_head",
    "decode_text",
    "describe_value",
    "entries_from_object",
    "is_array_like",
    "is_numeric_dtype",
    "listing",
    "select_entry",
    "to_numeric_array",
]

#: Number of leading bytes handed to :meth:`Reader.can_read`.
HEAD_SIZE = 4096

#: dtype kinds accepted as numeric: bool, signed/unsigned int, float, complex.
NUMERIC_KINDS = "biufc"

_MAX_LISTED = 40

#: How many bytes of a text file are read to find its header rows and delimiter.
CSV_SAMPLE = 1 << 16


def decode_text(sample: bytes) -> Optional[str]:
    """``sample`` as text (UTF-8, else latin-1); ``None`` if it holds a NUL byte (binary)."""
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return sample.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def sniff_delimiter(sample: str) -> str:
    """The field delimiter of ``sample``: ``,``, ``;`` or tab (``,`` when undecided).

    The sniffer only answers with one of the candidates, or fails (read as ``,``); a
    sample holding neither ``;`` nor a tab is therefore comma-separated without sniffing.
    """
    if ";" not in sample and "\t" not in sample:
        return ","
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def csv_head(path: pathlib.Path, count: int) -> Optional[tuple[list[list[str]], str]]:
    """The first ``count`` non-blank rows of a text file, split into cells, and its delimiter.

    The one rule of every csv entry point (the csv reader of
    :func:`~cebra_data.io.load_data`, pose detection, the Anipose header check): the first
    :data:`CSV_SAMPLE` bytes, a last line cut by the sample left out, the delimiter
    sniffed among ``,``, ``;`` and tab.

    Returns:
        ``(rows, delimiter)``, or ``None`` for a file that is not text (a NUL byte).

    Example:
        >>> from cebra_data.io.reader import csv_head
        >>> _ = (tmp_path / "a.csv").write_text("a;b\\n1;2\\n")
        >>> csv_head(tmp_path / "a.csv", 4)
        ([['a', 'b'], ['1', '2']], ';')
    """
    with open(path, "rb") as handle:
        raw = handle.read(CSV_SAMPLE)
        complete = not handle.read(1)
    text = decode_text(raw)
    if text is None:
        return None
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the sample may end inside a line
    lines = [line for line in lines if line.strip()][:count]
    delimiter = sniff_delimiter("\n".join(lines))
    return list(csv.reader(lines, delimiter=delimiter)), delimiter



def listing(names: Sequence[object], limit: int = _MAX_LISTED) -> str:
    """Format names for an error message, shortening very long lists.

    Args:
        names: The names to list.
        limit: How many names to show at most.

    Returns:
        A comma separated list of ``repr`` s, with the number of omitted names at the end.
    """
    shown = ", ".join(repr(n) for n in list(names)[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown or "(none)"


def check_row_widths(
    path: pathlib.Path, delimiter: str, width: int, *, header_rows: int = 0,
    require_final_newline: bool = False,
) -> None:
    """Check that every non-blank line of a delimited text file has ``width`` fields.

    pandas pads a row with missing fields with NaN, and a header one name shorter than
    the rows silently turns the first column into the row index; both change the data, so
    they are refused here instead.

    Args:
        path: The text file.
        delimiter: The field delimiter (one character).
        width: The number of fields of the first row (the header, if there is one).
        header_rows: How many leading rows form the header (for messages).
        require_final_newline: Also refuse a file whose last line has no line end (a
            machine-written file cut in the middle of its last row).

    Raises:
        CorruptFileError: naming the first line with a different number of fields.

    Example:
        >>> from cebra_data.io.reader import check_row_widths
        >>> path = tmp_path / "ragged.csv"
        >>> _ = path.write_text("x,y\\n1,2\\n3\\n")
        >>> check_row_widths(path, ",", 2)
        Traceback (most recent call last):
        ...
        cebra_data.errors.CorruptFileError: Line 3 of '...ragged.csv' has 1 field(s) but the first row has 2; ...
    """
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if require_final_newline and data and not data.isspace() \
            and not data.endswith((b"\n", b"\r")):
        raise CorruptFileError(
            f"'{path}' ends in the middle of a row (its last line has no line end): the file "
            "is truncated. Write it again or remove the incomplete last row."
        )
    if b'"' not in data:
        ragged = _first_ragged_line(data, delimiter.encode("latin-1"), width)
    else:
        text = data.decode("utf-8", errors="replace")
        counts = []
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for row in reader:
            while len(counts) < reader.line_num - 1:
                counts.append(width)  # lines swallowed by a quoted field
            counts.append(len(row) if any(c.strip() for c in row) or len(row) > 1 else width)
        ragged = next(((n, c) for n, c in enumerate(counts, 1) if c != width), None)
    if ragged is not None:
        number, count = ragged
        what = "its header" if header_rows else "the first row"
        hint = (" (the header is one name shorter than the rows: name every column, "
                "e.g. add a name for the index column)") if count == width + 1 \
            and header_rows and number == header_rows + 1 else ""
        raise CorruptFileError(
            f"Line {number} of '{path}' has {count} field(s) but {what} has {width}; "
            "every row must have the same number of fields (empty fields are allowed)"
            f"{hint}. The file is truncated or malformed."
        )


#: Bytes of text whose separators :func:`_first_ragged_line` locates at once (bounds memory).
_WIDTH_BLOCK = 1 << 24


def _first_ragged_line(data: bytes, sep: bytes, width: int) -> Optional[tuple[int, int]]:
    """``(line number, fields)`` of the first non-blank line without ``width`` fields.

    Lines are those of ``data.splitlines()`` (text without quotes, so a field count is the
    number of separators plus one); blank (whitespace-only) lines are ignored. With ``\n``
    line ends and a one-byte separator, the separators and line ends of blocks of about
    :data:`_WIDTH_BLOCK` bytes are located with numpy and only lines of another width are
    looked at one by one.

    Returns:
        The first such line (1-based) and its number of fields, or ``None``.
    """
    if len(sep) != 1 or b"\r" in data:
        for number, line in enumerate(data.splitlines(), 1):
            if line.strip() and line.count(sep) + 1 != width:
                return number, line.count(sep) + 1
        return None
    values = np.frombuffer(data, dtype=np.uint8)
    start, lines_before = 0, 0
    while start < len(data):
        stop = len(data)
        if start + _WIDTH_BLOCK < len(data):  # end the block after a line end
            cut = data.rfind(b"\n", start, start + _WIDTH_BLOCK)
            cut = cut if cut >= start else data.find(b"\n", start + _WIDTH_BLOCK)
            stop = len(data) if cut < 0 else cut + 1
        block = values[start:stop]
        ends = np.flatnonzero(block == 10)
        if block[-1] != 10:
            ends = np.append(ends, len(block))  # a last line without a line end
        starts = np.concatenate(([0], ends[:-1] + 1))
        separators = np.flatnonzero(block == sep[0])
        counts = np.searchsorted(separators, ends) - np.searchsorted(separators, starts) + 1
        for index in np.flatnonzero(counts != width):
            if data[start + starts[index]:start + ends[index]].strip():
                return lines_before + int(index) + 1, int(counts[index])
        lines_before += len(ends)
        start = stop
    return None


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 1 << 62


def check_dense_size(shape: Sequence[int], dtype: Any, where: str) -> None:
    """Refuse to densify a sparse matrix whose dense form needs more than half the memory.

    Args:
        shape: The dense shape.
        dtype: The dense dtype.
        where: What the matrix is, for messages.

    Raises:
        DenseTooLargeError: naming the shape, the bytes needed and the memory there is.

    Example:
        >>> from cebra_data.io.reader import check_dense_size
        >>> check_dense_size((10, 10), "float64", "m")
    """
    needed = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    available = _memory_bytes() // 2
    if needed > available:
        raise DenseTooLargeError(
            f"{where} is sparse; as the dense {tuple(shape)} {np.dtype(dtype)} array that "
            f"load_data returns it needs {needed / 1e9:.1f} GB, more than half of this "
            f"machine's memory ({2 * available / 1e9:.1f} GB). Read it with scipy "
            "(scipy.io.loadmat or h5py) and keep it sparse, or load a slice of it."
        )


def is_numeric_dtype(dtype: Optional[np.dtype]) -> bool:
    """Whether ``dtype`` is a plain numeric numpy dtype (no structured or object dtypes)."""
    return dtype is not None and dtype.kind in NUMERIC_KINDS and dtype.names is None


class NonArray:
    """Placeholder value for an entry that is not array-like (a string, ``None``, a model ...).

    Args:
        type_name: The name of the stored object's type, shown in messages.
        hint: What to do instead, appended to the error of reading it as an array.
    """

    def __init__(self, type_name: str, hint: str = "") -> None:
        self.type_name = type_name
        self.hint = hint

    def __repr__(self) -> str:
        return f"NonArray({self.type_name!r})"


class Table:
    """Equal-length named columns, read block-wise on demand.

    Args:
        columns: One label per column (tuples for multi-level labels).
        names: The names of the label levels (``None`` where unnamed).
        n_rows: Number of rows.
        dtypes: The numpy dtype of each column; ``None`` for non-numeric columns (text,
            dates, Python objects).
        take: Returns the 2-D array ``(n_rows, len(positions))`` of the given column
            positions; it is only called with numeric columns. The result may be a view
            of data the table keeps: callers copy before writing into it.
        index: The row labels (one per row; tuples for multi-level labels), or a function
            returning them that is called on first use; ``None`` (or a function returning
            ``None``) when the file stores none or they are not decoded. Only
            :func:`cebra_data.load.read_hdf` uses them.
        index_names: The names of the row label levels (``None`` where unnamed).

    Example:
        >>> import numpy as np
        >>> from cebra_data.io.reader import Table
        >>> values = np.arange(6.0).reshape(3, 2)
        >>> table = Table(["a", "b"], [None], 3, [values.dtype] * 2, lambda p: values[:, list(p)])
        >>> table.take(table.positions(["b"]))[:, 0]
        array([1., 3., 5.])
    """

    def __init__(
        self,
        columns: Sequence[Hashable],
        names: Sequence[Optional[str]],
        n_rows: int,
        dtypes: Sequence[Optional[np.dtype]],
        take: Callable[[Sequence[int]], np.ndarray],
        *,
        index: Union[Sequence[Hashable], Callable[[], Optional[Sequence[Hashable]]], None] = None,
        index_names: Sequence[Optional[str]] = (None,),
    ) -> None:
        self.columns = list(columns)
        self.names = list(names)
        self.n_rows = int(n_rows)
        self.dtypes = list(dtypes)
        self._take = take
        self._index = index
        self.index_names = list(index_names)

    @property
    def index(self) -> Optional[Sequence[Hashable]]:
        """The row labels, or ``None`` when the table has none (read on first use).

        Raises:
            ValueError: the labels are not one per row.
        """
        if callable(self._index):
            self._index = self._index()
        if self._index is not None and len(self._index) != self.n_rows:
            raise ValueError(
                f"index should have one label per row ({self.n_rows}), but has "
                f"{len(self._index)}."
            )
        return self._index

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return (self.n_rows, len(self.columns))

    @property
    def numeric(self) -> bool:
        """Whether every column is numeric."""
        return all(is_numeric_dtype(d) for d in self.dtypes)

    @property
    def dtype_name(self) -> str:
        """The common dtype of all columns, or ``"mixed"``/``"object"`` when there is none."""
        if not self.dtypes:
            return "float64"
        if not self.numeric:
            return "object" if all(d is None for d in self.dtypes) else "mixed"
        return str(np.result_type(*self.dtypes))

    @property
    def is_deeplabcut(self) -> bool:
        """Whether the column levels are DeepLabCut's (scorer, [individuals,] bodyparts, coords)."""
        names = [str(n) for n in self.names]
        return len(names) in (3, 4) and {"scorer", "bodyparts", "coords"} <= set(names)

    def positions(self, requested: Sequence[Hashable]) -> list[int]:
        """Column positions of the requested labels, in the order asked.

        A label matches a column exactly; for multi-level labels a string or shorter tuple
        matches every column that starts with it (like ``DataFrame.__getitem__``).

        Raises:
            MissingColumnError: listing the available columns when a label matches nothing.
        """
        exact: dict[Hashable, list[int]] = {}
        for i, label in enumerate(self.columns):
            exact.setdefault(label, []).append(i)
        result: list[int] = []
        missing: list[Hashable] = []
        for label in requested:
            found = exact.get(label) if isinstance(label, Hashable) else None
            if not found:
                prefix = label if isinstance(label, tuple) else (label,)
                found = [
                    i
                    for i, col in enumerate(self.columns)
                    if isinstance(col, tuple) and len(col) > len(prefix)
                    and col[: len(prefix)] == prefix
                ]
            if found:
                result.extend(found)
            else:
                missing.append(label)
        if missing:
            raise MissingColumnError(
                f"Column(s) {listing(missing)} not found. Available columns are: "
                f"{listing(self.columns)}."
            )
        return result

    def take(self, positions: Optional[Sequence[int]] = None) -> np.ndarray:
        """Return the given columns (all by default) as one numeric 2-D array (maybe a view).

        Raises:
            NonNumericDataError: naming the non-numeric columns among those asked for.
        """
        positions = list(range(len(self.columns))) if positions is None else list(positions)
        bad = [self.columns[p] for p in positions if not is_numeric_dtype(self.dtypes[p])]
        if bad:
            raise NonNumericDataError(
                f"Column(s) {listing(bad)} are not numeric (text, dates or Python objects). "
                "Select numeric columns with columns=[...]; numeric columns are: "
                f"{listing([c for c, d in zip(self.columns, self.dtypes) if is_numeric_dtype(d)])}."
            )
        if not positions:
            return np.empty((self.n_rows, 0))
        return self._take(positions)

    @classmethod
    def from_frame(cls, frame: Any) -> "Table":
        """Wrap a :class:`pandas.DataFrame` (column labels and level names are kept)."""
        dtypes: list[Optional[np.dtype]] = []
        plain: list[bool] = []  # numpy (not pandas extension) column dtypes
        for dtype in frame.dtypes:
            dtypes.append(_pandas_numeric_dtype(dtype))
            plain.append(isinstance(dtype, np.dtype))
        names = [None if n is None else str(n) for n in frame.columns.names]

        def take(positions: Sequence[int]) -> np.ndarray:
            """The selected columns, NaN for missing values of nullable columns."""
            positions = list(positions)
            whole = positions == list(range(frame.shape[1]))
            sub = frame if whole else frame.iloc[:, positions]
            target = np.result_type(*[dtypes[p] for p in positions])
            if target.kind in "biu" and sub.isna().to_numpy().any():
                target = np.dtype(np.float64)
            if all(plain[p] for p in positions):
                # numpy columns: missing floats are already NaN (no filling pass, no copy)
                return sub.to_numpy(dtype=target)
            return sub.to_numpy(dtype=target, na_value=np.nan if target.kind in "fc" else None)

        return cls(list(frame.columns), names, len(frame), dtypes, take,
                   index=frame.index,
                   index_names=[None if n is None else str(n) for n in frame.index.names])


def _pandas_numeric_dtype(dtype: Any) -> Optional[np.dtype]:
    """The numpy dtype a pandas column converts to, or ``None`` when it is not numeric."""
    if isinstance(dtype, np.dtype):
        return dtype if is_numeric_dtype(dtype) else None
    if pd.api.types.is_bool_dtype(dtype):
        return np.dtype(bool)
    if pd.api.types.is_numeric_dtype(dtype) and hasattr(dtype, "numpy_dtype"):
        numpy_dtype = np.dtype(dtype.numpy_dtype)
        return numpy_dtype if is_numeric_dtype(numpy_dtype) else None
    return None


Value = Union[np.ndarray, Table, NonArray]


def as_value(obj: Any) -> Value:
    """Normalise a Python object read from a file into an array, a :class:`Table` or a :class:`NonArray`.

    numpy arrays stay as they are, tensors become arrays, DataFrames become tables, Series
    become arrays, lists and numbers become arrays when numpy can give them a numeric
    dtype, anything else becomes a :class:`NonArray`.
    """
    if isinstance(obj, np.ndarray):
        return obj if type(obj) is np.ndarray else np.asarray(obj)  # np.matrix -> array
    if isinstance(obj, (Table, NonArray)):
        return obj
    module = type(obj).__module__.split(".")[0]
    if module == "torch":
        if isinstance(obj, torch.Tensor):
            tensor = obj.detach().cpu()
            if tensor.dtype in (torch.bfloat16,):
                tensor = tensor.float()
            return tensor.numpy()
    if module == "pandas":
        if isinstance(obj, pd.DataFrame):
            return Table.from_frame(obj)
        if isinstance(obj, pd.Series):
            dtype = _pandas_numeric_dtype(obj.dtype)
            if dtype is None:
                return np.asarray(obj.to_numpy(dtype=object))
            if obj.isna().any() and dtype.kind in "biu":
                dtype = np.dtype(np.float64)
            return obj.to_numpy(dtype=dtype, na_value=np.nan if dtype.kind in "fc" else None)
    if isinstance(obj, (numbers.Number, np.generic)) and not isinstance(obj, (str, bytes)):
        return np.asarray(obj)
    if isinstance(obj, (list, tuple)):
        try:
            array = np.asarray(obj)
        except (ValueError, TypeError):
            return NonArray(type(obj).__name__)
        return array
    return NonArray(type(obj).__name__)


@functools.lru_cache(maxsize=256)
def _dtype_name(dtype: np.dtype) -> str:
    """``str(dtype)``, remembered (numpy builds it in Python on every call)."""
    return str(dtype)


def describe_value(value: Value) -> tuple[Optional[tuple[int, ...]], str, bool]:
    """``(shape, dtype name, numeric)`` of a value."""
    if isinstance(value, np.ndarray):
        return tuple(int(s) for s in value.shape), _dtype_name(value.dtype), \
            is_numeric_dtype(value.dtype)
    if isinstance(value, Table):
        return value.shape, value.dtype_name, value.numeric
    return None, value.type_name, False


def is_array_like(value: Value) -> bool:
    """Whether ``load_data`` may pick ``value`` when no key is given.

    That is a numeric array with at least one dimension and one element, or a table with
    rows whose columns are all numeric (for a DeepLabCut table, whose coordinate and
    likelihood columns are: ``load_data`` returns its poses, and LightningPose adds a text
    column ``set``).
    """
    if isinstance(value, np.ndarray):
        return is_numeric_dtype(value.dtype) and value.ndim >= 1 and value.size > 0
    if isinstance(value, Table):
        if value.n_rows == 0 or not value.columns:
            return False
        if value.numeric or not value.is_deeplabcut:
            return value.numeric
        coords = [str(n) for n in value.names].index("coords")
        return all(is_numeric_dtype(d) for c, d in zip(value.columns, value.dtypes)
                   if str(c[coords]).strip() in _POSE_COORDS)
    return False


#: The ``coords`` of a DeepLabCut table that hold data.
_POSE_COORDS = ("x", "y", "z", "likelihood")


class Entry:
    """One named thing in a file, read on first use.

    Args:
        name: The entry's key (``"group/sub/data"`` for nested entries).
        read: Returns the entry's value; called at most once.
        shape: The shape if known without reading.
        dtype: The dtype name if known without reading.
        numeric: Whether the value is numeric, if known without reading.
    """

    def __init__(
        self,
        name: str,
        read: Callable[[], Any],
        *,
        shape: Optional[tuple[int, ...]] = None,
        dtype: Optional[str] = None,
        numeric: Optional[bool] = None,
    ) -> None:
        self.name = name
        self._read = read
        self._value: Optional[Value] = None
        self.shape = shape
        self.dtype = dtype
        self.numeric = numeric

    def value(self) -> Value:
        """The entry's value (an array, a :class:`Table` or a :class:`NonArray`)."""
        if self._value is None:
            self._value = as_value(self._read())
            self.shape, self.dtype, self.numeric = describe_value(self._value)
        return self._value

    def array_like(self) -> bool:
        """Whether this entry may be picked by default (reads it if needed)."""
        if self._value is not None:
            return is_array_like(self._value)
        if self.numeric is False:
            return False
        if self.shape is not None and self.numeric:
            return len(self.shape) >= 1 and math.prod(self.shape) > 0
        return is_array_like(self.value())

    def __repr__(self) -> str:
        return f"Entry({self.name!r}, shape={self.shape}, dtype={self.dtype})"


def entries_from_object(obj: Any, name: str) -> list[Entry]:
    """Entries of an unpickled object: one per (nested) mapping value, else one named ``name``.

    Nested mappings are flattened into ``"outer/inner"`` names, in insertion order.
    """
    if isinstance(obj, Mapping):
        entries: list[Entry] = []
        _flatten_mapping(obj, "", entries)
        return entries
    return [Entry(name, _constant(obj))]


def _flatten_mapping(mapping: Mapping, prefix: str, out: list[Entry]) -> None:
    for key, item in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            _flatten_mapping(item, name + "/", out)
        else:
            out.append(Entry(name, _constant(item)))


def _constant(obj: Any) -> Callable[[], Any]:
    return lambda: obj


def select_entry(entries: Sequence[Entry], key: Union[str, int, None], where: str) -> Entry:
    """Pick the entry named or numbered ``key``, or the first array-like entry.

    Args:
        entries: The file's entries, in the reader's documented order.
        key: A name (leading ``/`` ignored), a position, or ``None`` for the first
            array-like entry.
        where: The file, for messages.

    Raises:
        MissingKeyError: the key matches no entry (the message lists the available keys).
        NonNumericDataError: no key was given and no entry is array-like.
        TypeError: ``key`` is neither a string nor an integer.
    """
    names = [e.name for e in entries]
    if key is None:
        for entry in entries:
            if entry.array_like():
                return entry
        if not entries:
            raise EmptyFileError(f"{where} contains no entries.")
        found = ", ".join(f"{e.name!r} ({_entry_kind(e)})" for e in entries[:_MAX_LISTED])
        tables = any(isinstance(e._value, Table) and not e._value.numeric for e in entries)
        raise NonNumericDataError(
            f"{where} contains no numeric array with data. Its entries are: {found}."
            + (" Select the numeric columns of a table with columns=[...]." if tables else "")
        )
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (str, numbers.Integral)):
        raise TypeError(
            f"key should be a string (name) or an integer (position), but got "
            f"key={key!r} of type {type(key).__name__}."
        )
    if isinstance(key, numbers.Integral):
        position = int(key)
        if -len(entries) <= position < len(entries):
            return entries[position]
        raise MissingKeyError(
            f"key={position} is out of range: {where} has {len(entries)} entries "
            f"(positions 0..{len(entries) - 1}): {listing(names)}."
        )
    wanted = key.strip("/")
    for entry in entries:
        if entry.name == wanted or entry.name == key:
            return entry
    below = [n for n in names if n.startswith(wanted + "/")]
    hint = f" {wanted!r} is a group; its entries are: {listing(below)}." if below else ""
    raise MissingKeyError(
        f"key={key!r} is not in {where}.{hint} Available keys are: {listing(names)}."
    )


def _entry_kind(entry: Entry) -> str:
    """An entry's dtype for messages; a table read already names its text columns."""
    value = entry._value
    if isinstance(value, Table) and value.n_rows and not value.numeric:
        text = [c for c, d in zip(value.columns, value.dtypes) if not is_numeric_dtype(d)]
        return f"{entry.dtype}: text in column(s) {listing(text, 10)}"
    if isinstance(value, Table) and value.n_rows == 0:
        return f"{entry.dtype}, no rows"
    return entry.dtype or "unknown"


def to_numeric_array(value: Value, columns: Optional[Sequence[Any]], what: str) -> np.ndarray:
    """Turn a selected value into a numeric numpy array, applying ``columns``.

    Args:
        value: An array, a table or a non-array.
        columns: Column labels for tables; column positions for 2-D arrays; ``None`` for all.
        what: Description of the entry for messages.

    Raises:
        NonNumericDataError: the data (or one selected column) is not numeric.
        MissingColumnError: a requested column does not exist.
    """
    if isinstance(value, NonArray):
        raise NonNumericDataError(
            f"{what} holds a {value.type_name}, not a numeric array."
            + (f" {value.hint}" if value.hint else "")
        )
    if isinstance(value, Table):
        positions = None if columns is None else value.positions(columns)
        try:
            return value.take(positions)
        except (NonNumericDataError, MissingColumnError) as exc:
            raise type(exc)(f"{what}: {exc}") from exc.__cause__
    if not is_numeric_dtype(value.dtype):
        raise NonNumericDataError(
            f"{what} has dtype {value.dtype}, which is not numeric (expected bool, integer, "
            "float or complex)."
        )
    array = np.asarray(value)
    if columns is None:
        return array
    if array.ndim != 2:
        raise MissingColumnError(
            f"columns={list(columns)!r} needs a table or a 2-D array, but {what} has shape "
            f"{array.shape}."
        )
    positions = []
    for c in columns:
        if isinstance(c, (numbers.Integral,)) and not isinstance(c, bool) \
                and -array.shape[1] <= int(c) < array.shape[1]:
            positions.append(int(c))
        else:
            raise MissingColumnError(
                f"Column {c!r} not found: {what} is an array without column names; its "
                f"columns are the positions 0..{array.shape[1] - 1}."
            )
    return array[:, positions]


class Reader(abc.ABC):
    """Reads one file format into a list of :class:`Entry`; the base class of every reader.

    A reader is registered with :func:`cebra_data.io.registry.register_reader`, which makes
    :func:`~cebra_data.io.load_data` (and everything built on it) use it for its suffixes.

    Attributes:
        name: Short name of the format (shown by ``inspect_file``).
        suffixes: Lower-case suffixes with the dot, e.g. ``(".npy",)``.
        description: One line for the formats table and error messages.
        reads_urls: Whether :meth:`entries` also takes an ``http(s)://`` URL (a ``str``) in
            place of a path; :func:`~cebra_data.io.registry.open_entries` hands URLs to the
            reader that does (NWB files). ``False`` unless a reader says otherwise.

    Example:
        >>> import contextlib
        >>> import numpy as np
        >>> from cebra_data.io.reader import Entry, Reader
        >>> class TsvReader(Reader):
        ...     name, suffixes, description = "tsv", (".tsv",), "tab-separated text"
        ...     def can_read(self, head):
        ...         return b"\\x00" not in head
        ...     @contextlib.contextmanager
        ...     def entries(self, path, *, trusted):
        ...         yield [Entry(path.stem, lambda: np.loadtxt(path, delimiter="\\t", ndmin=2))]
        >>> path = tmp_path / "values.tsv"
        >>> _ = path.write_text("1\\t2\\n3\\t4\\n")
        >>> TsvReader().read(path, columns=[1])
        array([[2.],
               [4.]])
    """

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    reads_urls: ClassVar[bool] = False

    def can_read(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` is in this format (cheap, magic bytes only).

        Args:
            head: The first :data:`HEAD_SIZE` bytes of the file (fewer for short files).

        Returns:
            ``True`` unless the bytes rule the format out; the default accepts everything.
        """
        return True

    @abc.abstractmethod
    def entries(
        self, path: pathlib.Path, *, trusted: bool
    ) -> contextlib.AbstractContextManager[list[Entry]]:
        """Open ``path`` and yield its entries; resources are released on exit.

        Args:
            path: An existing, non-empty file.
            trusted: Whether code stored in the file may run while reading it.

        Returns:
            A context manager yielding the file's entries in the reader's documented order.
        """

    def read(
        self,
        path: Union[str, pathlib.Path],
        key: Union[str, int, None] = None,
        columns: Optional[Sequence[Any]] = None,
        *,
        trusted: bool = False,
    ) -> np.ndarray:
        """Read one entry of ``path`` as a numeric array, with this reader.

        This is the raw read: no suffix or magic-byte check, no DeepLabCut pose handling,
        errors of the underlying library are not translated. Most code wants
        :func:`~cebra_data.io.load_data`, which picks the reader and does all of that.

        Args:
            path: The file.
            key: The entry's name or position; ``None`` takes the first array-like entry.
            columns: Column labels for tables, column positions for 2-D arrays.
            trusted: Whether code stored in the file may run while reading it.

        Returns:
            A numeric array the caller owns.

        Raises:
            MissingKeyError, MissingColumnError, NonNumericDataError, EmptyFileError: see
                :func:`select_entry` and :func:`to_numeric_array`.
        """
        path = pathlib.Path(path)
        with self.entries(path, trusted=trusted) as entries:
            entry = select_entry(entries, key, f"'{path}'")
            value = entry.value()
            array = to_numeric_array(value, columns, f"Entry {entry.name!r} of '{path}'")
            return array.copy() if isinstance(value, Table) and array.base is not None else array

    def __repr__(self) -> str:
        return f"{type(self).__name__}(suffixes={self.suffixes})"
