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
import gzip
import io
import lzma
import math
import pickle
import sys
from typing import IO, Any

import numpy as np
from joblib.compressor import BinaryZlibFile
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
    "DataFrame", "Series", "Index", "RangeIndex", "MultiIndex", "DatetimeIndex",
    "TimedeltaIndex", "PeriodIndex", "CategoricalIndex", "IntervalIndex", "Categorical",
    "CategoricalDtype", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype", "UInt8Dtype",
    "UInt16Dtype", "UInt32Dtype", "UInt64Dtype", "Float32Dtype", "Float64Dtype",
    "BooleanDtype", "StringDtype", "NA", "NaT", "Timestamp", "Timedelta", "Period",
)

#: ``(module, name)`` pairs the restricted unpicklers resolve; everything else is refused.
SAFE_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    [(m, n) for m in ("builtins", "__builtin__") for n in (
        "bool", "bytearray", "bytes", "complex", "dict", "float", "frozenset", "int",
        "list", "object", "range", "set", "slice", "str", "tuple", "xrange")]
    + [("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"), ("_codecs", "encode"),
       ("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype")]
    + [(f"{m}.multiarray", n) for m in _NUMPY for n in ("_reconstruct", "scalar")]
    + [(f"{m}.numeric", "_frombuffer") for m in _NUMPY]
    + [("pandas", n) for n in _PANDAS_CLASSES]
    + [
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
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
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas.core.internals.blocks", "new_block"),
        ("pandas._libs.internals", "_unpickle_block"),
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


class RestrictedUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that resolves only :data:`SAFE_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global if it is plain data, else raise :class:`UnsafeFileError`."""
        if is_safe_global(module, name):
            return super().find_class(module, name)
        raise _refuse(module, name)

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: they point outside the pickle."""
        raise UnsafeFileError(
            "The pickle refers to external (persistent) objects, which plain data never needs. "
            "If you trust the file, pass trusted=True."
        )


def restricted_load(handle: IO[bytes]) -> Any:
    """Unpickle one object from ``handle`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(handle).load()


def restricted_loads(data: bytes) -> Any:
    """Unpickle one object from ``data`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


class _JoblibUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """Restricted pure-Python unpickler that also reads joblib's in-stream array payloads.

    joblib replaces each numpy array by a ``NumpyArrayWrapper`` whose raw bytes follow the
    wrapper in the stream. When the wrapper's state is set (the ``BUILD`` opcode) we read
    those bytes ourselves, so joblib's unrestricted code paths never run.
    """

    dispatch = pickle._Unpickler.dispatch.copy()  # type: ignore[attr-defined]

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__(handle)
        self._handle = handle
        self._wrapper_type: type = NumpyArrayWrapper

    def find_class(self, module: str, name: str) -> Any:
        """Resolve plain data and joblib's array wrapper; refuse everything else."""
        if (module, name) == _JOBLIB_WRAPPER:
            return self._wrapper_type
        if is_safe_global(module, name):
            return super().find_class(module, name)
        raise _refuse(module, name)

    def persistent_load(self, pid: Any) -> Any:
        """Refuse persistent ids: they point outside the pickle."""
        return RestrictedUnpickler.persistent_load(self, pid)  # type: ignore[arg-type]

    def load_build(self) -> None:
        """Set an object's state; replace a joblib array wrapper by the array it announces."""
        pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        if isinstance(self.stack[-1], self._wrapper_type):
            self.stack[-1] = _read_wrapped_array(self.stack[-1], self._handle)

    dispatch[pickle.BUILD[0]] = load_build


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


def _read_wrapped_array(wrapper: Any, handle: IO[bytes]) -> np.ndarray:
    """Read the array whose bytes follow a joblib ``NumpyArrayWrapper`` in the stream."""
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
        _read_exact(handle, padding)
    count = math.prod(shape)
    data = _read_exact(handle, count * dtype.itemsize)
    array = np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order=order)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


# Magic numbers of the compressors joblib.dump can use.
_ZLIB, _GZIP, _BZ2, _XZ, _LZMA, _LZ4 = (
    b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00", b"\x04\x22\x4d\x18"
)


def _open_joblib_stream(handle: IO[bytes]) -> IO[bytes]:
    """Wrap ``handle`` in the decompressor its first bytes announce."""
    head = handle.read(8)
    handle.seek(0)
    if head.startswith(_ZLIB):
        return io.BufferedReader(BinaryZlibFile(handle, "rb"))
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


def restricted_joblib_load(handle: IO[bytes]) -> Any:
    """Load a ``joblib.dump`` file from ``handle`` without running code from it."""
    stream = _open_joblib_stream(handle)
    limit = sys.getrecursionlimit()
    try:
        return _JoblibUnpickler(stream).load()
    except RecursionError as exc:
        raise CorruptFileError(
            f"The pickle is nested deeper than Python's recursion limit ({limit})."
        ) from exc
