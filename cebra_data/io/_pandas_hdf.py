"""Decode pandas HDF5 groups (``DataFrame.to_hdf``) with h5py, without PyTables.

pandas writes DataFrames in two layouts:

* ``format="fixed"`` (``pandas_type="frame"``): one dataset per dtype block
  (``block{i}_values``), the labels of its columns (``block{i}_items``) and the column and
  row axes (``axis0``, ``axis1``; multi-level axes as ``..._level{j}`` / ``..._label{j}``).
* ``format="table"`` (``pandas_type="frame_table"``; what DeepLabCut writes): one compound
  dataset ``table`` with an ``index`` field, one field per dtype block
  (``values_block_{i}``) and one field per data column. Labels, dtypes and level names are
  stored as pickled attributes.

PyTables unpickles every such attribute when pandas opens the file, so ``pandas.read_hdf``
runs any code a crafted file carries. Here the attributes are decoded with the restricted
unpickler instead, which only rebuilds plain data. Layouts outside what is decoded here
raise :class:`UnsupportedLayout`; the caller then falls back to pandas only if the file is
trusted.
"""

from __future__ import annotations

import codecs
from collections.abc import Hashable, Sequence
from typing import Any, Optional

import h5py
import numpy as np

from cebra_data.errors import CorruptFileError, UnsafeFileError
from cebra_data.io.reader import Table, is_numeric_dtype
from cebra_data.io.safe_pickle import restricted_loads

__all__ = [
    "UnsupportedLayout",
    "check_filters",
    "decode_pandas_group",
    "index_values",
    "pandas_type",
    "text_attribute",
]


class UnsupportedLayout(Exception):
    """A pandas HDF5 group that this decoder does not handle (internal signal)."""


def pandas_type(node: Any) -> Optional[str]:
    """The ``pandas_type`` attribute of an h5py group, or ``None`` if it is not a pandas group."""
    value = node.attrs.get("pandas_type") if hasattr(node, "attrs") else None
    if value is None:
        return None
    return _text(value)


def _text(value: Any, encoding: str = "utf-8") -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode(encoding, errors="replace")
    return str(value)


def text_attribute(value: Any, encoding: str = "utf-8") -> str:
    """An HDF5 attribute as text (bytes decoded, anything else through ``str``)."""
    return _text(value, encoding)


def _attr_object(value: Any) -> Any:
    """Decode a pickled attribute the way PyTables would, but with the restricted unpickler."""
    if isinstance(value, (bytes, np.bytes_)):
        raw = bytes(value)
        if raw.endswith(b"."):
            try:
                return restricted_loads(raw)
            except UnsafeFileError:
                raise
            except Exception:  # not a pickle after all: a plain string ending with "."
                return raw.decode("utf-8", errors="replace")
        return raw.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _encoding(attrs: Any) -> str:
    """The text encoding a pandas group declares (``UTF-8`` when it declares none).

    Old pandas versions stored the attribute as a pickled ``None`` (``b"N."``), which
    pandas reads as its default, UTF-8.

    Raises:
        CorruptFileError: the attribute names no encoding Python knows.
    """
    value = _attr_object(attrs["encoding"]) if "encoding" in attrs else None
    name = "UTF-8" if value is None or value == "" else str(value)
    try:
        codecs.lookup(name)
    except LookupError:
        raise CorruptFileError(
            f"A pandas object declares the text encoding {name!r}, which Python does not "
            "know; the file is corrupted."
        ) from None
    return name


def check_filters(dataset: Any) -> None:
    """Raise :class:`UnsupportedLayout` if ``dataset`` needs an HDF5 filter h5py cannot apply."""
    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        filter_id = plist.get_filter(i)[0]
        if not h5py.h5z.filter_avail(filter_id):
            raise UnsupportedLayout(
                f"dataset {dataset.name!r} is compressed with HDF5 filter {filter_id}, "
                "which h5py cannot decode (e.g. blosc)"
            )


def _read(dataset: Any) -> np.ndarray:
    """Read a pandas array node, honouring pandas' markers for empty and transposed arrays."""
    check_filters(dataset)
    shape = _empty_shape(dataset)
    if shape is not None:
        return np.empty(shape, dtype=dataset.dtype)
    return dataset[()]


def _empty_shape(dataset: Any) -> Optional[tuple[int, ...]]:
    """pandas stores an empty array as a 1-element placeholder plus a pickled ``shape``."""
    if "shape" not in dataset.attrs:
        return None
    shape = _attr_object(dataset.attrs["shape"])
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise CorruptFileError(f"The shape attribute of {dataset.name!r} is malformed.")
    return shape


def _block_dtype(values: Any) -> Optional[np.dtype]:
    """The dtype of a fixed-format block, or ``None`` when it holds objects, text or dates."""
    if _text(values.attrs.get("PSEUDOATOM", b"")) == "object":
        return None
    declared = values.dtype
    if "value_type" in values.attrs:
        try:
            declared = np.dtype(_text(values.attrs["value_type"]))
        except TypeError:
            return None
    return declared if is_numeric_dtype(declared) and is_numeric_dtype(values.dtype) else None


def _labels(dataset: Any, encoding: str) -> list[Hashable]:
    """Decode an index node (``axis0``, ``block0_items`` ...) into a list of labels."""
    kind = _text(dataset.attrs.get("kind", b"string"))
    values = _read(dataset)
    if values.dtype.kind == "S":
        return [v.decode(encoding, errors="replace") for v in values.tolist()]
    if values.dtype.kind == "O":
        raise UnsupportedLayout(f"index node {dataset.name!r} stores Python objects")
    if kind in ("integer", "float", "bool", "string", "unicode"):
        return values.tolist()
    # dates and other kinds: keep the stored numbers, labels only name columns
    return values.tolist()


def _axis(group: Any, name: str, encoding: str) -> tuple[list[Hashable], list[Optional[str]]]:
    """Labels and level names of a (possibly multi-level) axis stored under ``name``."""
    variety = _text(group.attrs.get(f"{name}_variety", b"regular"))
    if variety == "regular":
        node = group[name]
        level_name = _attr_object(node.attrs.get("name", b"N."))
        return _labels(node, encoding), [None if level_name is None else str(level_name)]
    if variety != "multi":
        raise UnsupportedLayout(f"axis {name!r} has variety {variety!r}")
    n_levels = int(group.attrs[f"{name}_nlevels"])
    levels, codes, names = [], [], []
    for j in range(n_levels):
        level_node = group[f"{name}_level{j}"]
        levels.append(_labels(level_node, encoding))
        codes.append(_read(group[f"{name}_label{j}"]).astype(np.int64))
        level_name = _attr_object(level_node.attrs.get("name", b"N."))
        names.append(None if level_name is None else str(level_name))
    n = len(codes[0]) if codes else 0
    if any(len(c) != n for c in codes):
        raise CorruptFileError(f"The levels of axis {name!r} have different lengths.")
    labels = [
        tuple(levels[j][codes[j][i]] if codes[j][i] >= 0 else None for j in range(n_levels))
        for i in range(n)
    ]
    return labels, names


def index_values(values: np.ndarray, kind: str, encoding: str) -> Optional[list[Hashable]]:
    """Row labels of the given pandas index ``kind``, or ``None`` for kinds not decoded here."""
    if kind in ("string", "unicode") and values.dtype.kind == "S":
        return [v.decode(encoding, errors="replace") for v in values.tolist()]
    if kind in ("integer", "float", "bool") and values.dtype.kind in "biuf":
        return values.tolist()
    if kind.startswith("datetime64") and values.dtype.kind in "iu":
        unit = kind[len("datetime64"):] or "[ns]"
        return list(values.astype(np.int64).view(f"datetime64{unit}"))
    return None


def _fixed_index(group: Any, encoding: str) -> tuple[Optional[list[Hashable]], list[Optional[str]]]:
    """The row labels of a fixed-format frame (``None`` when not decoded here) and their names."""
    try:
        variety = _text(group.attrs.get("axis1_variety", b"regular"))
        if variety == "multi":
            return _axis(group, "axis1", encoding)
        node = group["axis1"]
        name = _attr_object(node.attrs.get("name", b"N."))
        labels = index_values(_read(node), _text(node.attrs.get("kind", b"")), encoding)
        return labels, [None if name is None else str(name)]
    except (UnsupportedLayout, KeyError, CorruptFileError):
        return None, [None]


def pick_columns(block: np.ndarray, subs: Sequence[int]) -> np.ndarray:
    """``block[:, subs]``, as a view (no copy) when ``subs`` is an evenly spaced run."""
    if len(subs) > 1:
        step = subs[1] - subs[0]
        if step > 0 and all(b - a == step for a, b in zip(subs, subs[1:])):
            return block[:, subs[0]:subs[-1] + 1:step]
    elif len(subs) == 1:
        return block[:, subs[0]:subs[0] + 1]
    out = np.empty((block.shape[0], len(subs)), dtype=block.dtype)
    return np.take(block, subs, axis=1, out=out, mode="clip")  # "raise" would buffer


def _positions(labels: Sequence[Hashable], items: Sequence[Hashable], where: str) -> list[int]:
    lookup = {label: i for i, label in enumerate(labels)}
    if len(lookup) != len(labels):
        raise UnsupportedLayout("duplicate column labels")
    try:
        return [lookup[item] for item in items]
    except KeyError as exc:
        raise CorruptFileError(f"{where} names a column that is not in the frame.") from exc


def decode_pandas_group(group: Any) -> Any:
    """Decode a pandas HDF5 group into a :class:`Table` (frames) or an array (series).

    Raises:
        UnsupportedLayout: the layout is not one of those documented in the module docstring.
        CorruptFileError: the group contradicts itself.
    """
    kind = pandas_type(group)
    encoding = _encoding(group.attrs)
    if kind == "frame":
        return _fixed_frame(group, encoding)
    if kind == "series":
        return _read(group["values"])
    if kind in ("frame_table", "series_table"):
        return _table_frame(group)
    raise UnsupportedLayout(f"pandas_type {kind!r}")


def _fixed_frame(group: Any, encoding: str) -> Table:
    if int(group.attrs.get("ndim", 2)) != 2:
        raise UnsupportedLayout("frames with ndim != 2")
    columns, names = _axis(group, "axis0", encoding)
    index_node = group["axis1"] if "axis1" in group else None
    blocks = []
    dtypes: list[Optional[np.dtype]] = [None] * len(columns)
    n_rows: Optional[int] = None
    for i in range(int(group.attrs.get("nblocks", 0))):
        items, _ = _axis(group, f"block{i}_items", encoding)
        positions = _positions(columns, items, f"block{i}_items")
        values = group[f"block{i}_values"]
        block_dtype = _block_dtype(values)
        stored_as_objects = block_dtype is None
        transposed = bool(values.attrs.get("transposed", False))
        if not stored_as_objects:
            shape = _empty_shape(values) or values.shape
            if len(shape) != 2:
                raise CorruptFileError(f"block{i}_values is not 2-D.")
            rows = shape[0] if transposed else shape[1]
            if n_rows is not None and rows != n_rows:
                raise CorruptFileError("The blocks of the frame have different lengths.")
            n_rows = rows
            for p in positions:
                dtypes[p] = block_dtype
        blocks.append((positions, values, transposed, stored_as_objects))
    if n_rows is None:
        index_shape = _empty_shape(index_node) if index_node is not None else None
        n_rows = index_shape[0] if index_shape else (index_node.shape[0] if index_node else 0)
    covered = sorted(p for positions, *_ in blocks for p in positions)
    if covered != list(range(len(columns))):
        raise CorruptFileError("The blocks of the frame do not cover its columns exactly once.")

    cache: dict[int, np.ndarray] = {}

    def rows_by_columns(index: int, values: Any, transposed: bool) -> np.ndarray:
        """Block ``index`` as (rows, block columns), read once and kept for the next call."""
        if index not in cache:
            block = _read(values)
            cache[index] = block if transposed else block.T
        return cache[index]

    def take(wanted: Sequence[int]) -> np.ndarray:
        """The wanted columns: a pick from one block, else assembled block by block."""
        for index, (positions, values, transposed, objects) in enumerate(blocks):
            if not objects and set(wanted) <= set(positions):
                # every column from one block (DeepLabCut's case): one pick
                subs = [positions.index(p) for p in wanted]
                return pick_columns(rows_by_columns(index, values, transposed), subs)
        out = np.empty((n_rows, len(wanted)), dtype=np.result_type(*[dtypes[p] for p in wanted]))
        where = {p: k for k, p in enumerate(wanted)}
        for index, (positions, values, transposed, objects) in enumerate(blocks):
            needed = [(k, where[p]) for k, p in enumerate(positions) if p in where]
            if not needed or objects:
                continue
            block = rows_by_columns(index, values, transposed)
            for k, target in needed:
                out[:, target] = block[:, k]
        # a label asked twice: fill the remaining copies from the first
        for k, p in enumerate(wanted):
            first = wanted.index(p)
            if first != k:
                out[:, k] = out[:, first]
        return out

    if _text(group.attrs.get("axis1_variety", b"regular")) == "multi":
        nodes = [group.get(f"axis1_level{j}") for j in range(int(group.attrs.get("axis1_nlevels", 0)))]
    else:
        nodes = [group.get("axis1")]
    index_names = [
        None if node is None or _attr_object(node.attrs.get("name", b"N.")) is None
        else str(_attr_object(node.attrs.get("name", b"N."))) for node in nodes
    ] or [None]

    def index() -> Optional[list[Hashable]]:
        """The row labels when they are decoded here and one per row, else ``None``."""
        labels, _ = _fixed_index(group, encoding)
        return labels if labels is not None and len(labels) == n_rows else None

    return Table(columns, names, n_rows, dtypes, take, index=index, index_names=index_names)


def _table_frame(group: Any) -> Table:
    if "table" not in group:
        raise CorruptFileError("A pandas table group has no 'table' dataset.")
    table = group["table"]
    check_filters(table)
    attrs = group.attrs
    non_index = _attr_object(attrs.get("non_index_axes", b"(lp0\n."))
    value_fields = _attr_object(attrs.get("values_cols", b"(lp0\n."))
    info = _attr_object(attrs.get("info", b"(dp0\n."))
    if not isinstance(non_index, list) or len(non_index) != 1 or not isinstance(value_fields, list):
        raise UnsupportedLayout("tables with several non-index axes")
    axis, columns = non_index[0]
    if axis != 1 or not isinstance(columns, list):
        raise UnsupportedLayout("tables indexed along columns")
    names = [None]
    if isinstance(info, dict) and isinstance(info.get(1), dict):
        level_names = info[1].get("names")
        if isinstance(level_names, list):
            names = [None if n is None else str(n) for n in level_names]
    if table.dtype.names is None:
        raise CorruptFileError("A pandas table is not a compound dataset.")
    where: dict[Hashable, tuple[str, Optional[int]]] = {}
    dtypes_by_label: dict[Hashable, Optional[np.dtype]] = {}
    for field in value_fields:
        if field not in table.dtype.names:
            raise CorruptFileError(f"The table has no field {field!r}.")
        labels = _attr_object(table.attrs.get(f"{field}_kind", b"(lp0\n."))
        stored = _text(table.attrs.get(f"{field}_dtype", b""))
        meta = _attr_object(table.attrs.get(f"{field}_meta", b"N."))
        try:
            declared = np.dtype(stored)
        except TypeError:
            declared = None
        field_dtype = table.dtype.fields[field][0]
        numeric = meta is None and declared is not None and is_numeric_dtype(declared) \
            and is_numeric_dtype(field_dtype.base)
        if not isinstance(labels, list):
            raise CorruptFileError(f"The labels of field {field!r} are malformed.")
        width = field_dtype.shape[0] if field_dtype.shape else None
        if width is not None and width != len(labels):
            raise CorruptFileError(f"Field {field!r} has {width} columns but {len(labels)} labels.")
        for k, label in enumerate(labels):
            label = tuple(label) if isinstance(label, list) else label
            where[label] = (field, k if width is not None else None)
            dtypes_by_label[label] = field_dtype.base if numeric else None
    columns = [tuple(c) if isinstance(c, list) else c for c in columns]
    missing = [c for c in columns if c not in where]
    if missing or len(set(columns)) != len(columns):
        raise UnsupportedLayout("columns without a matching field, or duplicate labels")
    dtypes = [dtypes_by_label[c] for c in columns]
    n_rows = int(table.shape[0]) if table.shape else 0

    cache: dict[str, np.ndarray] = {}

    def records() -> np.ndarray:
        """All rows of the table, read once and kept for the next call.

        Reading whole records and viewing fields is faster than HDF5's field-subset
        conversion, and DeepLabCut asks twice (positions, then likelihoods).
        """
        if "records" not in cache:
            records = np.empty(table.shape, dtype=table.dtype)
            if records.size:
                table.read_direct(records)  # skips h5py's selection machinery
            cache["records"] = records
        return cache["records"]

    def take(wanted: Sequence[int]) -> np.ndarray:
        """The wanted columns: a pick from one values block, else assembled field by field."""
        fields = sorted({where[columns[p]][0] for p in wanted})
        data = records()
        if len(fields) == 1 and table.dtype.fields[fields[0]][0].shape:
            # one values block (DeepLabCut's case): pick the columns in one step
            return pick_columns(data[fields[0]], [where[columns[p]][1] for p in wanted])
        out = np.empty((n_rows, len(wanted)), dtype=np.result_type(*[dtypes[p] for p in wanted]))
        by_field: dict[str, list[tuple[int, Optional[int]]]] = {}
        for k, p in enumerate(wanted):
            field, sub = where[columns[p]]
            by_field.setdefault(field, []).append((k, sub))
        for field, targets in by_field.items():
            block = data[field]
            if block.ndim == 1:
                out[:, targets[0][0]] = block
                for k, _ in targets[1:]:
                    out[:, k] = block
            else:
                ks = [k for k, _ in targets]
                subs = [s for _, s in targets]
                out[:, ks] = block[:, subs]
        return out

    def index() -> Optional[list[Hashable]]:
        """The row labels from the ``index`` field when their kind is decoded here."""
        if "index" not in table.dtype.names or table.dtype.fields["index"][0].shape != ():
            return None
        encoding = _encoding(attrs)
        return index_values(records()["index"], _text(table.attrs.get("index_kind", b"")),
                             encoding)

    index_info = info.get("index") if isinstance(info, dict) else None
    index_name = index_info.get("index_name") if isinstance(index_info, dict) else None
    return Table(columns, names, n_rows, dtypes, take, index=index,
                 index_names=[None if index_name is None else str(index_name)])
