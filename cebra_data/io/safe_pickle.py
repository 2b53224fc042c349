"""Unpickling that runs no code: only plain data classes may be rebuilt.

A pickle is a small program: its ``GLOBAL`` opcodes import any callable and its ``REDUCE``
opcodes call it, which is how a data file can run a shell command. The unpicklers here only
resolve the globals that plain data needs (numpy arrays and dtypes, pandas DataFrame /
Series / Index objects and their extension arrays, built-in containers and scalars) and
refuse anything else with an :class:`~cebra_data.errors.UnsafeFileError` that explains
``trusted=True``.

Three entry points use it:

* :func:`restricted_load` for ``.pkl`` / ``.p`` files and pickled HDF5 attributes,
* :func:`restricted_joblib_load` for ``.jl`` files (joblib's format appends raw array bytes
  after the pickle stream; they are read here without joblib's own unpickler),
* ``.pt`` files, which use :func:`torch.load` with ``weights_only=True``.
"""

from __future__ import annotations

import bz2
import collections
import copyreg
import gzip
import io
import lzma
import math
import mmap
import os
import pickle
import sys
import zlib
from typing import IO, Any, Optional

import numpy as np
import pandas as pd
from joblib.numpy_pickle import NumpyArrayWrapper

from cebra_data.errors import CorruptFileError, MissingDependencyError, UnsafeFileError

__all__ = [
    "SAFE_GLOBALS",
    "RestrictedUnpickler",
    "is_safe_global",
    "restricted_joblib_load",
    "restricted_load",
    "restricted_loads",
]

_NUMPY = ("numpy.core", "numpy._core")
_PANDAS_CLASSES = (
    "Index", "RangeIndex", "MultiIndex", "DatetimeIndex",
    "TimedeltaIndex", "PeriodIndex", "CategoricalIndex", "IntervalIndex", "Categorical",
    "CategoricalDtype", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "UInt8Dtype",
    "UInt16Dtype", "UInt32Dtype", "UInt64Dtype", "Float32Dtype", "Float64Dtype",
    "BooleanDtype", "StringDtype", "DatetimeTZDtype", "NA", "NaT", "Timestamp", "Timedelta", "Period",
)

#: ``(module, name)`` pairs the restricted unpicklers resolve; everything else is refused.
SAFE_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(m, n) for m in ("builtins", "__builtin__") for n in (
        "bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int",
        "list", "object", "range", "set", "slice", "str", "tuple", "xrange")]
    + [("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"), ("_codecs", "encode"),
       ("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype"),
       ("numpy", "matrix"), ("numpy.matrixlib.defmatrix", "matrix")]
    + [(f"{m}.multiarray", n) for m in _NUMPY for n in ("_reconstruct", "scalar")]
    + [(f"{m}.numeric", "_frombuffer") for m in _NUMPY]
    + [("pandas", n) for n in _PANDAS_CLASSES]
    + [
        ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.indexes.multi", "MultiIndex"),
        ("pandas.core.indexes.numeric", "Int64Index"),
        ("pandas.core.indexes.numeric", "UInt64Index"),
        ("pandas.core.indexes.numeric", "Float64Index"),
        ("pandas.core.indexes.datetimes", "DatetimeIndex"),
        ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
        ("pandas.core.indexes.frozen", "FrozenList"),
        ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas._libs.tslibs.timestamps", "Timestamp"),
        ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
        ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
        ("pandas._libs.missing", "NA"),
        ("pandas.core.arrays.categorical", "Categorical"),
        ("pandas.core.dtypes.dtypes", "CategoricalDtype"),
        ("pandas.arrays", "BooleanArray"),
        ("pandas.arrays", "DatetimeArray"),
        ("pandas.arrays", "FloatingArray"),
        ("pandas.arrays", "IntegerArray"),
        ("pandas.arrays", "StringArray"),
        ("pandas.core.arrays.integer", "IntegerArray"),
        ("pandas.core.arrays.floating", "FloatingArray"),
        ("pandas.core.arrays.boolean", "BooleanArray"),
        ("pandas.core.arrays.string_", "StringArray"),
        ("pandas.core.arrays.datetimes", "DatetimeArray"),
    ]
    + [("pandas._libs.tslibs.offsets", n) for n in (
        "Day", "Hour", "Minute", "Second", "Milli", "Micro", "Nano")]
)

_JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")


def is_safe_global(module: str, name: str) -> bool:
    """Whether the global ``module.name`` is plain data that unpickling may resolve."""
    if (module, name) in SAFE_GLOBALS:
        return True
    # numpy >= 1.25 pickles dtypes through their classes, e.g. numpy.dtypes.Float64DType.
    return module == "numpy.dtypes" and name.endswith("DType") and name.isidentifier()


def _refuse(module: str, name: str) -> UnsafeFileError:
    return UnsafeFileError(
        f"The file refers to the Python object {module}.{name}, which is not plain data "
        "(numpy arrays, pandas objects, built-in containers and numbers). Unpickling it "
        "could run code stored in the file, so it was not loaded. If you created the file "
        "yourself or trust its source, pass trusted=True."
    )


# ------------------------------------------------------------------ pandas objects, rebuilt
#
# pandas unpickles its containers by handing the stored block layout (which rows of which
# array hold which column) to compiled code that trusts it: a crafted placement crashes the
# interpreter. So the restricted unpicklers never build DataFrames, Series, block managers
# or masked arrays themselves. Stand-ins record what the pickle asks for; after loading,
# :func:`_rebuild` checks every placement, shape and code and builds the pandas objects
# through their public constructors.


class _Recorded:
    """Stand-in for a pandas object: records the arguments and the state the pickle gives."""

    args: tuple = ()
    state: Any = None
    target: str = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> "_Recorded":
        obj = object.__new__(cls)
        obj.args = args
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # the arguments were recorded by __new__ (NEWOBJ calls only __new__)

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _FrameStandIn(_Recorded):
    target = "DataFrame"


class _SeriesStandIn(_Recorded):
    target = "Series"


class _ManagerStandIn(_Recorded):
    target = "BlockManager"


class _MaskedStandIn(_Recorded):
    target = ""


def _masked(name: str) -> type:
    return type(f"_{name}StandIn", (_MaskedStandIn,), {"target": name})


class _BlockStandIn:
    """A block as the pickle describes it: ``values`` placed at ``placement``."""

    def __init__(self, values: Any, placement: Any, ndim: Any = None, *rest: Any) -> None:
        self.values, self.placement, self.ndim = values, placement, ndim


_MASKED = {n: _masked(n) for n in ("IntegerArray", "FloatingArray", "BooleanArray")}
_STAND_INS: dict[tuple[str, str], Any] = {
    **{(m, "DataFrame"): _FrameStandIn for m in ("pandas", "pandas.core.frame")},
    **{(m, "Series"): _SeriesStandIn for m in ("pandas", "pandas.core.series")},
    **{("pandas.core.internals.managers", n): _ManagerStandIn
       for n in ("BlockManager", "SingleBlockManager")},
    ("pandas._libs.internals", "_unpickle_block"): _BlockStandIn,
    ("pandas.core.internals.blocks", "new_block"): _BlockStandIn,
    **{("pandas.arrays", n): c for n, c in _MASKED.items()},
    ("pandas.core.arrays.integer", "IntegerArray"): _MASKED["IntegerArray"],
    ("pandas.core.arrays.floating", "FloatingArray"): _MASKED["FloatingArray"],
    ("pandas.core.arrays.boolean", "BooleanArray"): _MASKED["BooleanArray"],
}
_BUILTIN_TYPES = (dict, list, set, frozenset, tuple, int, float, complex, str, bytes, bool)


def _bad_pandas(message: str) -> CorruptFileError:
    return CorruptFileError(f"A pickled pandas object in the file is malformed: {message}.")


def _checked_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` for stand-ins and built-in types only.

    It creates an object without calling its constructor; for any other class the
    object's internals would come unchecked from the file.
    """
    if isinstance(cls, type) and issubclass(cls, _Recorded) and base is object:
        return _Recorded.__new__(cls)
    if isinstance(cls, type) and issubclass(cls, pd.api.extensions.ExtensionDtype) \
            and base is object:
        return copyreg._reconstructor(cls, base, state)  # a dtype: its state is its parameters
    if cls in _BUILTIN_TYPES and base in _BUILTIN_TYPES and issubclass(cls, base):
        return copyreg._reconstructor(cls, base, state)
    raise _refuse(getattr(cls, "__module__", "?"), f"{getattr(cls, '__name__', cls)} (rebuilt "
                  "without its constructor)")


def _check_backed(obj: Any) -> None:
    """Check the array behind a pandas NDArrayBacked object (categorical codes in range ...)."""
    array = getattr(obj, "_ndarray", None)
    if not isinstance(array, np.ndarray):
        raise _bad_pandas(f"a {type(obj).__name__} has no array")
    if isinstance(obj, pd.Categorical):
        codes, n = array, len(obj.dtype.categories)
        if codes.ndim != 1 or codes.dtype.kind not in "iu" or (
                codes.size and (codes.min() < -1 or codes.max() >= n)):
            raise _bad_pandas(f"categorical codes point outside its {n} categories")
        return
    kinds = {"DatetimeArray": "M", "TimedeltaArray": "m", "PeriodArray": "i",
             "StringArray": "O", "NumpyExtensionArray": "biufcO"}
    allowed = kinds.get(_real_class(type(obj)).__name__)
    if allowed is None or array.dtype.kind not in allowed or array.ndim not in (1, 2):
        raise _bad_pandas(f"a {type(obj).__name__} holds a {array.dtype} array of "
                          f"{array.ndim} dimensions")


_CHECKED_CLASSES: dict[type, type] = {}


def _real_class(cls: type) -> type:
    return getattr(cls, "_checked_real", cls)


def _checked_class(cls: type) -> type:
    """A subclass of ``cls`` that checks its state when the pickle sets it, then becomes ``cls``."""
    if cls not in _CHECKED_CLASSES:

        def __setstate__(self: Any, state: Any) -> None:
            cls.__setstate__(self, state)
            _check_backed(self)
            self.__class__ = cls

        _CHECKED_CLASSES[cls] = type(cls.__name__, (cls,), {
            "__setstate__": __setstate__, "_checked_real": cls})
    return _CHECKED_CLASSES[cls]


def _checked_ndarray_backed(real: Any) -> Any:
    """Wrap pandas' NDArrayBacked unpickler: the stored codes/values are checked first."""

    def unpickle(cls: Any, checksum: Any, state: Any) -> Any:
        if not isinstance(cls, type):
            raise _bad_pandas("an array's class is not a class")
        obj = real(_checked_class(cls), checksum, state)
        if state is not None:
            _check_backed(obj)
            obj.__class__ = cls
        return obj

    return unpickle


def _positions(placement: Any, n_items: int) -> np.ndarray:
    """The item positions of a block placement (a slice or integer array), all in range."""
    if isinstance(placement, slice):
        start, stop, step = placement.start, placement.stop, placement.step
        step = 1 if step is None else step
        start = 0 if start is None else start
        if not all(isinstance(v, int) for v in (start, stop, step)) or step <= 0 \
                or not 0 <= start <= stop <= n_items:
            raise _bad_pandas(f"a block placement {placement!r} lies outside {n_items} columns")
        return np.arange(start, stop, step)
    array = np.asarray(placement)
    if array.ndim != 1 or array.dtype.kind not in "iu" or (
            array.size and (array.min() < 0 or array.max() >= n_items)):
        raise _bad_pandas(f"a block placement lies outside {n_items} columns")
    return array.astype(np.intp)


def _column_arrays(manager: _ManagerStandIn, memo: dict[int, Any]) -> tuple[list[Any], list[Any]]:
    """``(axes, columns)`` of a recorded block manager, every placement checked."""
    if manager.args:
        if len(manager.args) < 2:
            raise _bad_pandas("a block manager lacks its blocks or axes")
        blocks_in, axes = manager.args[0], manager.args[1]
        blocks = [(b.values, b.placement) if isinstance(b, _BlockStandIn) else None
                  for b in (blocks_in if isinstance(blocks_in, (list, tuple)) else [None])]
    else:
        state = manager.state
        if not (isinstance(state, tuple) and len(state) >= 4 and isinstance(state[3], dict)
                and isinstance(state[3].get("0.14.1"), dict)):
            raise _bad_pandas("the block layout is missing or older than pandas 0.14.1")
        inner = state[3]["0.14.1"]
        axes, described = inner.get("axes"), inner.get("blocks")
        blocks = [(b.get("values"), b.get("mgr_locs")) if isinstance(b, dict) else None
                  for b in (described if isinstance(described, (list, tuple)) else [None])]
    if None in blocks or not isinstance(axes, (list, tuple)) or len(axes) not in (1, 2):
        raise _bad_pandas("the blocks or axes have an unexpected form")
    axes = [_rebuild(ax, memo) for ax in axes]
    for ax in axes:
        if not isinstance(ax, pd.Index):
            raise _bad_pandas(f"an axis is a {type(ax).__name__}, not an index")
    n_rows = len(axes[-1])
    n_items = len(axes[0]) if len(axes) == 2 else 1
    columns: list[Any] = [None] * n_items
    for values, placement in blocks:
        values = _rebuild(values, memo)
        where = _positions(placement, n_items) if len(axes) == 2 else np.arange(n_items)
        if isinstance(values, np.ndarray):
            if values.ndim == 1 and len(where) == 1:
                values = values[None, :]
            if values.ndim != 2 or values.shape != (len(where), n_rows):
                raise _bad_pandas(f"a block of shape {values.shape} does not fill "
                                  f"{len(where)} columns of {n_rows} rows")
            parts = list(values)
        elif isinstance(values, pd.api.extensions.ExtensionArray):
            if values.ndim == 2 and values.shape == (len(where), n_rows):
                parts = [values[i] for i in range(len(where))]
            elif values.ndim != 1 or len(values) != n_rows or len(where) != 1:
                raise _bad_pandas("an extension block does not fill its columns")
            else:
                parts = [values]
        else:
            raise _bad_pandas(f"a block holds a {type(values).__name__}")
        for position, part in zip(where.tolist(), parts):
            if columns[position] is not None:
                raise _bad_pandas(f"two blocks claim column {position}")
            columns[position] = part
    if any(c is None for c in columns):
        raise _bad_pandas("some columns belong to no block")
    return axes, columns


def _with_attrs(obj: Any, state: dict, memo: dict[int, Any]) -> Any:
    attrs = _rebuild(state.get("attrs", state.get("_attrs")), memo)
    if isinstance(attrs, dict) and attrs:
        obj.attrs = attrs
    return obj


def _container(recorded: _Recorded, memo: dict[int, Any]) -> Any:
    """A DataFrame or Series built by pandas' constructors from a checked layout."""
    state = recorded.state
    if recorded.args and state is None:
        return getattr(pd, recorded.target)(*[_rebuild(a, memo) for a in recorded.args])
    if not isinstance(state, dict):
        raise _bad_pandas(f"a {recorded.target} has no state")
    manager = state.get("_mgr", state.get("_data"))
    if not isinstance(manager, _ManagerStandIn):
        raise _bad_pandas(f"a {recorded.target} has no block manager")
    axes, columns = _column_arrays(manager, memo)
    if recorded.target == "Series":
        if len(axes) != 1 or len(columns) != 1:
            raise _bad_pandas("a Series is not one column")
        name = _rebuild(state.get("_name", state.get("name")), memo)
        if not isinstance(name, (str, int, float, bytes, tuple, type(None))):
            raise _bad_pandas(f"a Series name is a {type(name).__name__}")
        return _with_attrs(pd.Series(columns[0], index=axes[0], name=name, copy=False),
                           state, memo)
    if len(axes) != 2:
        raise _bad_pandas("a DataFrame does not have two axes")
    frame = pd.DataFrame(dict(enumerate(columns)), index=axes[1], copy=False) if columns \
        else pd.DataFrame(index=axes[1])
    frame.columns = axes[0]
    return _with_attrs(frame, state, memo)


def _rebuild(obj: Any, memo: dict[int, Any], depth: int = 0) -> Any:
    """Replace the stand-ins in ``obj`` (and its containers) by checked pandas objects."""
    if id(obj) in memo:
        return memo[id(obj)]
    if depth > 200:
        raise CorruptFileError("The pickle is nested too deeply.")
    result = obj
    if isinstance(obj, _MaskedStandIn):
        state = obj.state if isinstance(obj.state, dict) else {}
        if "_data" not in state or "_mask" not in state:
            raise _bad_pandas(f"a {obj.target} lacks its values or mask")
        data, mask = state["_data"], state["_mask"]
        if not (isinstance(data, np.ndarray) and isinstance(mask, np.ndarray)
                and mask.dtype == bool and data.shape == mask.shape and data.ndim == 1):
            raise _bad_pandas(f"a {obj.target}'s values and mask do not match")
        result = getattr(pd.arrays, obj.target)(data, mask)
    elif isinstance(obj, _ManagerStandIn):
        raise _bad_pandas("a block manager outside a DataFrame or Series")
    elif isinstance(obj, _BlockStandIn):
        raise _bad_pandas("a block outside a block manager")
    elif isinstance(obj, _Recorded):
        result = _container(obj, memo)
    elif type(obj) in (dict, collections.OrderedDict):
        for key, value in list(obj.items()):
            obj[key] = _rebuild(value, memo, depth + 1)
    elif type(obj) is list:
        for i, value in enumerate(obj):
            obj[i] = _rebuild(value, memo, depth + 1)
    elif type(obj) is tuple and obj:
        items = tuple(_rebuild(v, memo, depth + 1) for v in obj)
        if any(a is not b for a, b in zip(items, obj)):
            result = items
    memo[id(obj)] = result
    return result


class _CheckedNdarray(np.ndarray):
    """What ``numpy.ndarray`` resolves to: calling it needs the array's data.

    ``ndarray(shape, dtype)`` without a buffer returns uninitialised memory, so a pickle
    that calls the class directly (numpy itself never does) would load arbitrary bytes of
    this process. Passing the class to ``_reconstruct`` (how numpy pickles arrays) still
    works: :func:`_checked_reconstruct` swaps the real class back in.
    """

    def __new__(cls, shape: Any = None, dtype: Any = float, buffer: Any = None,
                *args: Any, **kwargs: Any) -> np.ndarray:
        if buffer is None:
            raise CorruptFileError(
                "The pickle creates a numpy array without its data (numpy.ndarray called "
                "without a buffer), which would hold arbitrary memory; it is malformed."
            )
        return np.ndarray.__new__(np.ndarray, shape, dtype, buffer, *args, **kwargs)


def _checked_reconstruct(real: Any) -> Any:
    """numpy's ``_reconstruct``: the placeholder array it creates must be empty."""

    def reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
        if subtype is _CheckedNdarray:
            subtype = np.ndarray
        if not (isinstance(shape, tuple) and all(isinstance(n, int) for n in shape)
                and math.prod(shape) == 0):
            raise CorruptFileError(
                f"The pickle creates a numpy array of shape {shape!r} without its data (numpy "
                "writes the empty shape (0,) and then the data); it is malformed."
            )
        return real(subtype, shape, dtype)

    return reconstruct


def _resolve(unpickler: Any, module: str, name: str, base_find: Any) -> Any:
    """Shared ``find_class`` of the restricted unpicklers."""
    if (module, name) == ("numpy", "ndarray"):
        return _CheckedNdarray
    if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        return _checked_reconstruct(base_find(module, name))
    stand_in = _STAND_INS.get((module, name))
    if stand_in is not None:
        return stand_in
    if (module, name) in (("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor")):
        return _checked_reconstructor
    if is_safe_global(module, name):
        found = base_find(module, name)
        if name == "__pyx_unpickle_NDArrayBacked":
            return _checked_ndarray_backed(found)
        return found
    raise _refuse(module, name)


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only :data:`SAFE_GLOBALS`.

    pandas containers are recorded by stand-ins while loading; :meth:`load` returns them
    rebuilt from their checked layout.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global if it is plain data, else raise :class:`UnsafeFileError`."""
        return _resolve(self, module, name, super().find_class)

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: they point outside the pickle."""
        raise UnsafeFileError(
            "The pickle refers to external (persistent) objects, which plain data never needs. "
            "If you trust the file, pass trusted=True."
        )

    def load(self) -> Any:
        """Unpickle one object and rebuild the pandas objects in it from checked layouts."""
        return _rebuild(super().load(), {})


def _load_any_encoding(make: Any, handle: IO[bytes]) -> Any:
    """Load with Python 3's defaults, then (for Python 2 pickles) with ``latin1`` strings.

    Python 2 stored numpy's array bytes as ``str``; ``latin1`` turns them back into the
    same bytes (numpy's own advice for such pickles).
    """
    start = handle.tell() if handle.seekable() else None
    try:
        return make(handle, "ASCII").load()
    except UnicodeDecodeError:
        if start is None:
            raise
        handle.seek(start)
        return make(handle, "latin1").load()


def restricted_load(handle: IO[bytes]) -> Any:
    """Unpickle one object from ``handle`` with :class:`RestrictedUnpickler`."""
    return _load_any_encoding(lambda h, e: RestrictedUnpickler(h, encoding=e), handle)


def restricted_loads(data: bytes) -> Any:
    """Unpickle one object from ``data`` with :class:`RestrictedUnpickler`."""
    return restricted_load(io.BytesIO(data))


class _JoblibUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Restricted pure-Python unpickler that also reads joblib's in-stream array payloads.

    joblib replaces each numpy array by a ``NumpyArrayWrapper`` whose raw bytes follow the
    wrapper in the stream. When the wrapper's state is set (the ``BUILD`` opcode) we read
    those bytes ourselves, so joblib's unrestricted code paths never run. With ``mapped``
    (the stream is the uncompressed file itself) the bytes are not read but mapped
    copy-on-write (see :class:`_FileMap`).
    """

    dispatch = pickle._Unpickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, handle: IO[bytes], encoding: str = "ASCII",
                 mapped: Optional["_FileMap"] = None) -> None:
        super().__init__(handle, encoding=encoding)
        self._handle = handle
        self._mapped = mapped
        self._wrapper_type: type = NumpyArrayWrapper

    def find_class(self, module: str, name: str) -> Any:
        """Resolve plain data and joblib's array wrapper; refuse everything else."""
        if (module, name) == _JOBLIB_WRAPPER:
            return self._wrapper_type
        return _resolve(self, module, name, super().find_class)

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: they point outside the pickle."""
        return RestrictedUnpickler.persistent_load(self, pid)  # type: ignore[arg-type]

    def load_build(self) -> None:
        """Set an object's state; replace a joblib array wrapper by the array it announces."""
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        if isinstance(self.stack[-1], self._wrapper_type):
            self.stack[-1] = _read_wrapped_array(self.stack[-1], self._handle, self._mapped)

    dispatch[pickle.BUILD[0]] = load_build


class _FileMap:
    """One lazily created copy-on-write memory map of a whole (uncompressed joblib) file.

    Arrays are views of it (``mmap.ACCESS_COPY``, i.e. a private mapping): the file's
    pages are read when first touched, a write into an array changes only this process's
    copy of the touched pages, and nothing is ever written to the file. The map stays
    alive as long as an array viewing it does.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._map: Optional[mmap.mmap] = None
        self.size = os.fstat(handle.fileno()).st_size

    def view(self, offset: int, dtype: np.dtype, count: int) -> np.ndarray:
        """``count`` values of ``dtype`` at byte ``offset`` of the file, without a copy."""
        if self._map is None:
            self._map = mmap.mmap(self._handle.fileno(), 0, access=mmap.ACCESS_COPY)
        return np.frombuffer(self._map, dtype=dtype, count=count, offset=offset)


def _read_exact(handle: IO[bytes], size: int) -> bytearray:
    """Read exactly ``size`` bytes in bounded chunks (a lying header cannot force a huge allocation)."""
    buffer = bytearray()
    chunk = 1 << 24
    while len(buffer) < size:
        data = handle.read(min(chunk, size - len(buffer)))
        if not data:
            raise CorruptFileError(
                f"The file is truncated: an array needs {size} bytes but only "
                f"{len(buffer)} remain."
            )
        buffer += data
    return buffer


#: Arrays up to this size are read straight into their final buffer (larger ones, which a
#: lying header could announce, grow chunk by chunk as their bytes arrive).
_DIRECT_READ_BYTES = 1 << 30


def _read_into(handle: IO[bytes], target: np.ndarray) -> None:
    """Fill the bytes of ``target`` (a uint8 array) from ``handle`` in bounded chunks."""
    view, position, chunk = memoryview(target), 0, 1 << 24
    while position < len(view):
        count = handle.readinto(view[position:position + chunk])
        if not count:
            raise CorruptFileError(
                f"The file is truncated: an array needs {len(view)} bytes but only "
                f"{position} remain."
            )
        position += count


def _read_wrapped_array(wrapper: Any, handle: IO[bytes],
                        mapped: Optional[_FileMap] = None) -> np.ndarray:
    """Read the array whose bytes follow a joblib ``NumpyArrayWrapper`` in the stream.

    With ``mapped``, an array of native byte order whose data is aligned for its dtype
    is a copy-on-write view of the file (no bytes are read); otherwise it is read into
    memory (and converted to native byte order).
    """
    state = vars(wrapper)
    dtype = state.get("dtype")
    shape = state.get("shape")
    order = state.get("order", "C")
    if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple) \
            or not all(isinstance(s, int) and s >= 0 for s in shape) or order not in ("C", "F"):
        raise CorruptFileError("A joblib array header in the file is malformed.")
    if dtype.hasobject:
        # joblib stores object arrays as a nested pickle; read it with the same restrictions.
        array = RestrictedUnpickler(handle).load()
        if not isinstance(array, np.ndarray):
            raise CorruptFileError("A joblib object array in the file is malformed.")
        return array
    if state.get("numpy_array_alignment_bytes") is not None:
        padding = _read_exact(handle, 1)[0]
        if mapped is not None:
            handle.seek(padding, io.SEEK_CUR)
        else:
            _read_exact(handle, padding)
    count = math.prod(shape)
    size = count * dtype.itemsize
    if mapped is not None and count and dtype.itemsize:
        offset = handle.tell()
        if offset + size > mapped.size:
            raise CorruptFileError(
                f"The file is truncated: an array of shape {shape} and dtype {dtype} needs "
                f"{size} bytes at byte {offset}, but the file has {mapped.size} bytes."
            )
        handle.seek(offset + size)
        flat = mapped.view(offset, dtype, count)
        if offset % dtype.alignment or not dtype.isnative:
            flat = flat.astype(dtype.newbyteorder("="))  # an in-memory, aligned, native copy
        return flat.reshape(shape, order=order)
    if 0 < size <= _DIRECT_READ_BYTES and dtype.itemsize:
        flat = np.empty(count, dtype=dtype)
        _read_into(handle, flat.view(np.uint8))
        array = flat.reshape(shape, order=order)
    else:
        data = _read_exact(handle, size)
        array = np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order=order)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


# Magic numbers of the compressors joblib.dump can use.
_ZLIB, _GZIP, _BZ2, _XZ, _LZMA, _LZ4 = (
    b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00", b"\x04\x22\x4d\x18"
)


class _ZlibStream(io.RawIOBase):
    """The inflated bytes of a zlib stream (joblib's ``compress=`` default), read forward.

    Reads inflate straight into the caller's buffer in pieces of at most 1 MiB from
    256 KiB of input, so a large array costs one pass of the inflater and one copy of
    cache-sized pieces (joblib's own reader inflates 8 KiB at a time into blocks it then
    joins and copies). Bytes after the end of the stream are ignored; a stream cut short
    gives fewer bytes, which the reader of the array reports as truncation.

    Args:
        handle: The compressed file, positioned at the stream's start.
    """

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__()
        self._handle = handle
        self._inflater = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Inflate up to ``len(buffer)`` bytes into ``buffer``; return how many (0 at the end)."""
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target):
            if not self._pending and not self._inflater.eof:
                self._pending = self._handle.read(1 << 18)
            given = self._pending
            # with no input left this drains what the inflater still holds
            piece = self._inflater.decompress(given, min(len(target) - filled, 1 << 20))
            self._pending = self._inflater.unconsumed_tail
            if not piece:
                if self._pending and len(self._pending) < len(given):
                    continue  # input consumed without output yet
                break  # the end of the stream or of the file
            target[filled:filled + len(piece)] = piece
            filled += len(piece)
        return filled


def _open_joblib_stream(handle: IO[bytes]) -> IO[bytes]:
    """Wrap ``handle`` in the decompressor its first bytes announce."""
    head = handle.read(8)
    handle.seek(0)
    if head.startswith(_ZLIB):
        return io.BufferedReader(_ZlibStream(handle))
    if head.startswith(_GZIP):
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if head.startswith(_BZ2):
        return bz2.BZ2File(handle, "rb")
    if head.startswith(_XZ) or head.startswith(_LZMA):
        return lzma.LZMAFile(handle, "rb")
    if head.startswith(_LZ4):
        try:
            import lz4.frame
        except ImportError as exc:
            raise MissingDependencyError(
                "This .jl file is lz4-compressed; reading it needs the lz4 package: "
                "pip install lz4"
            ) from exc
        return lz4.frame.LZ4FrameFile(handle, "rb")
    if head.startswith(b"ZF"):
        raise UnsafeFileError(
            "This .jl file was written by joblib < 0.10, whose format can only be read by "
            "joblib's unrestricted loader. If you trust the file, pass trusted=True."
        )
    return handle


def restricted_joblib_load(handle: IO[bytes], *, mmap_arrays: bool = True) -> Any:
    """Load a ``joblib.dump`` file from ``handle`` without running code from it.

    Args:
        handle: The open file (binary, seekable), positioned at its start.
        mmap_arrays: For an uncompressed file on disk, return its numpy arrays as
            copy-on-write memory maps of the file (as ``joblib.load(mmap_mode="c")``; a
            write into one changes only the array in memory, never the file) instead of
            reading them into memory. Arrays that are compressed, of non-native byte
            order, unaligned or of dtype object are always read into memory.

    Returns:
        The unpickled object.

    Raises:
        UnsafeFileError: the file refers to an object that is not plain data.
        CorruptFileError: the file is malformed or truncated.
        MissingDependencyError: the file is lz4-compressed and lz4 is not installed.

    Example:
        >>> import joblib, numpy as np
        >>> from cebra_data.io.safe_pickle import restricted_joblib_load
        >>> _ = joblib.dump({"x": np.arange(4.0)}, tmp_path / "x.jl")
        >>> with open(tmp_path / "x.jl", "rb") as handle:
        ...     x = restricted_joblib_load(handle)["x"]
        >>> x[0] = 7.0  # copy-on-write: the file keeps 0.0
        >>> x, joblib.load(tmp_path / "x.jl")["x"]
        (array([7., 1., 2., 3.]), array([0., 1., 2., 3.]))
    """
    limit = sys.getrecursionlimit()
    try:
        stream = _open_joblib_stream(handle)
        mapped = _FileMap(handle) if mmap_arrays and stream is handle and _has_fileno(handle) \
            else None
        try:
            return _rebuild(_JoblibUnpickler(stream, mapped=mapped).load(), {})
        except UnicodeDecodeError:  # Python 2: strings (and array bytes) as latin1
            handle.seek(0)
            stream = _open_joblib_stream(handle)
            unpickler = _JoblibUnpickler(stream, encoding="latin1", mapped=mapped)
            return _rebuild(unpickler.load(), {})
    except RecursionError as exc:
        raise CorruptFileError(
            f"The pickle is nested deeper than Python's recursion limit ({limit})."
        ) from exc


def _has_fileno(handle: IO[bytes]) -> bool:
    try:
        handle.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return False
    return True
