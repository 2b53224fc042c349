"""Readers for pickle-based formats: ``.pkl .p`` (pickle), ``.jl`` (joblib), ``.pt .pth`` (PyTorch).

By default none of them runs code from the file:

* pickle and joblib files go through :mod:`cebra_data.io.safe_pickle`, which rebuilds
  only plain data (numpy arrays, pandas objects, built-in containers and scalars);
* PyTorch files are loaded with ``torch.load(weights_only=True)`` (tensors, containers,
  and numpy arrays).

``trusted=True`` switches to the libraries' own unrestricted loaders.

Entries: a mapping (dict, ``OrderedDict``, ``state_dict``) gives one entry per value in
insertion order, nested mappings flattened into ``"outer/inner"``; any other object is one
entry named after the file's stem.
"""

from __future__ import annotations

import contextlib
import functools
import io
import mmap
import os
import pathlib
import pickle
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, Optional

import joblib
import numpy as np
import torch

from cebra_data.errors import (
    CorruptFileError,
    DataFileNotFoundError,
    UnsafeFileError,
    UnsupportedFormatVersionError,
)
from cebra_data.io.reader import Entry, Reader, entries_from_object
from cebra_data.io.registry import register_reader
from cebra_data.io.safe_pickle import restricted_joblib_load, restricted_load

try:  # the ``fast`` extra: ISA-L's CRC-32 (SIMD), the same checksum about 3.7x faster
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # zlib's, always there
    _crc32 = zlib.crc32

__all__ = ["JoblibReader", "PickleReader", "TorchReader"]

_PICKLE_PROTOCOL_2_PLUS = b"\x80"
_ZIP_MAGIC = b"PK\x03\x04"
# joblib's compressors: zlib, gzip, bz2, xz, lzma, lz4
_JOBLIB_COMPRESSED = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b",
                      b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")


def _load_guarded(load: Any, path: pathlib.Path) -> Any:
    try:
        return load()
    except RecursionError as exc:
        raise CorruptFileError(f"'{path}' is nested deeper than Python's recursion limit.") from exc


def _trusted_pickle(handle: Any) -> Any:
    """``pickle.load``; Python 2 pickles (byte strings) are retried with ``latin1``."""
    try:
        return pickle.load(handle)
    except UnicodeDecodeError:
        handle.seek(0)
        return pickle.load(handle, encoding="latin1")


def _mentions_joblib(handle: Any) -> bool:
    """Whether the pickle refers to joblib's array wrapper (searched without reading it all)."""
    with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
        return view.find(b"joblib.numpy_pickle") >= 0


def _load_joblib(path: pathlib.Path, handle: Any, trusted: bool) -> Any:
    """A joblib file's object: joblib's loader when trusted, else the restricted one.

    joblib refuses the pickles Python 2 wrote (a ``ValueError`` saying so); the
    restricted loader reads their plain data (byte strings as latin-1, as
    ``pickle.load(..., encoding="latin1")``), so a trusted load falls back to it, and says
    joblib's reason if that fails too.
    """
    if not trusted:
        return _load_guarded(lambda: restricted_joblib_load(handle), path)
    try:
        return _load_guarded(lambda: joblib.load(path), path)
    except FileNotFoundError as exc:  # joblib < 0.10 kept each array in a file of its own
        raise DataFileNotFoundError(
            f"'{path}' was written by joblib < 0.10, which stores its arrays in files beside "
            f"it, and one of them is missing: {exc.filename!r}. Keep those files together."
        ) from exc
    except ValueError as exc:
        if "python 2" not in str(exc).lower():
            raise
        reason = str(exc)
    handle.seek(0)
    try:
        return _load_guarded(lambda: restricted_joblib_load(handle), path)
    except (UnsafeFileError, CorruptFileError) as exc:
        raise UnsupportedFormatVersionError(
            f"'{path}' is a joblib pickle written by Python 2, which joblib refuses: "
            f"{reason} Its content is not only plain data, so cebra_data's own reader cannot "
            f"read it either ({exc}). Load it with Python 2 and save it again with Python 3."
        ) from None


class PickleReader(Reader):
    """Python pickles, read with the restricted unpickler unless trusted."""

    name = "pickle"
    suffixes = (".pkl", ".p")
    description = "Python pickle"

    def can_read(self, head: bytes) -> bool:
        """Protocols 2-5 start with ``\\x80``; protocols 0-1 have no magic (text-like opcodes).

        Compressed joblib files named ``.pkl`` are accepted too (joblib's own examples
        use that suffix) and read as joblib files.
        """
        return head.startswith(_PICKLE_PROTOCOL_2_PLUS) or head[:1] in b"(]}cdlN)IFSVX" \
            or head.startswith(_JOBLIB_COMPRESSED)

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Unpickle the file (restricted unless trusted) and yield its entries."""
        with open(path, "rb") as handle:
            joblib_file = handle.read(8).startswith(_JOBLIB_COMPRESSED)
            handle.seek(0)
            if joblib_file:
                obj = _load_joblib(path, handle, trusted)
            elif trusted:
                if _mentions_joblib(handle):  # a joblib.dump file named .pkl
                    obj = _load_joblib(path, handle, trusted)
                else:
                    obj = _load_guarded(lambda: _trusted_pickle(handle), path)
            else:
                try:
                    obj = _load_guarded(lambda: restricted_load(handle), path)
                except UnsafeFileError as exc:
                    if "joblib.numpy_pickle" not in str(exc):
                        raise
                    handle.seek(0)  # a joblib.dump file named .pkl: arrays follow the pickle
                    obj = _load_joblib(path, handle, trusted)
        yield entries_from_object(obj, path.stem)


register_reader(PickleReader())


class JoblibReader(Reader):
    """``joblib.dump`` files (plain or compressed), restricted unless trusted."""

    name = "joblib"
    suffixes = (".jl",)
    description = "joblib"

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the file (restricted unless trusted) and yield its entries."""
        with open(path, "rb") as handle:
            obj = _load_joblib(path, handle, trusted)
        yield entries_from_object(obj, path.stem)


register_reader(JoblibReader())


def _numpy_safe_globals() -> list[Any]:
    """numpy callables a ``weights_only`` load may resolve to rebuild numpy arrays."""
    return list(_numpy_safe_globals_found())


@functools.lru_cache(maxsize=1)
def _numpy_safe_globals_found() -> tuple[Any, ...]:
    """The list of :func:`_numpy_safe_globals`, built once (``dir(numpy.dtypes)`` is slow)."""
    found: list[Any] = [np.ndarray, np.dtype]
    for module_name in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            module = __import__(module_name, fromlist=["_reconstruct"])
        except ImportError:
            continue
        found += [module._reconstruct, module.scalar]
        break
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return tuple(found)


class TorchReader(Reader):
    """PyTorch ``torch.save`` files, loaded with ``weights_only=True`` unless trusted."""

    name = "torch"
    suffixes = (".pt", ".pth")
    description = "PyTorch"

    def can_read(self, head: bytes) -> bool:
        """Zip archives (torch >= 1.6) or legacy pickles."""
        return head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_PROTOCOL_2_PLUS)

    @contextlib.contextmanager
    def entries(self, path: pathlib.Path, *, trusted: bool) -> Iterator[list[Entry]]:
        """Load the file on the CPU and yield its entries.

        Zip-based files are checked first: every member's CRC-32 (torch does not check
        them, so a flipped byte inside a tensor would load as a different number; a file
        saved with ``torch.serialization.set_crc32_options(False)`` has none, and only the
        place and size of its members are checked), and
        TorchScript archives (``torch.jit.save``), which hold a program, not plain data.
        The check reads the file once through a read-only memory map; the tensors are
        then mapped by ``torch.load(mmap=True)`` with private (copy-on-write) pages, so
        the file is not read a second time and writes to the arrays never reach it. Files
        up to :data:`_READ_LIMIT` are read into memory once, checked, and loaded from
        those bytes.
        """
        zipped, torchscript, checked = _check_archive(path)
        if torchscript:
            if not trusted:
                raise UnsafeFileError(
                    f"'{path}' is a TorchScript archive (written by torch.jit.save): it holds "
                    "a compiled model (code), not plain tensors. If you trust the file, pass "
                    "trusted=True to read its parameters and buffers (torch.jit.load), or "
                    "save the tensors you need with torch.save(model.state_dict(), ...)."
                )
            module = torch.jit.load(str(path), map_location="cpu")
            yield entries_from_object(module.state_dict(), path.stem)
            return
        if trusted:
            obj = _torch_load(path, weights_only=False, mapped=zipped, data=checked)
        else:
            safe_globals = getattr(torch.serialization, "safe_globals", None)
            context = safe_globals(_numpy_safe_globals()) if safe_globals \
                else contextlib.nullcontext()
            try:
                with context:
                    obj = _torch_load(path, weights_only=True, mapped=zipped, data=checked)
            except pickle.UnpicklingError as exc:
                # torch names the refused global ("Unsupported global: GLOBAL os.system ...",
                # "Trying to load unsupported GLOBAL ... is blocked"); other failures are
                # corruption and are reported as such by the caller.
                if "global" in str(exc).lower():
                    raise UnsafeFileError(
                        f"'{path}' contains Python objects other than tensors, containers and "
                        "numpy arrays (e.g. a whole model); torch.load(weights_only=True) "
                        "refused them because they could run code. If you trust the file, "
                        "pass trusted=True."
                    ) from exc
                raise
        yield entries_from_object(obj, path.stem)


def _torch_load(path: pathlib.Path, *, weights_only: bool, mapped: bool,
                data: Optional[bytes] = None) -> Any:
    """``torch.load`` on the CPU; zip-based files memory-mapped with private pages.

    ``data``: the file's bytes, already read and checked (small files): loaded from
    memory, into tensors of their own. torch's default mapping can be switched to
    ``MAP_SHARED`` process-wide (writes to the tensors would then reach the file);
    ``MAP_PRIVATE`` is pinned for this one load. Where torch cannot pin it (old versions,
    Windows), or for legacy (non-zip) files, the file is read into memory instead.
    """
    if data is not None:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=weights_only)
    pin = getattr(torch.serialization, "set_default_mmap_options", None)
    private = getattr(mmap, "MAP_PRIVATE", None)
    if not mapped or pin is None or private is None:
        return torch.load(path, map_location="cpu", weights_only=weights_only)
    with pin(private):
        return torch.load(path, map_location="cpu", weights_only=weights_only, mmap=True)


#: Size of a zip local file header before its name and extra field.
_LOCAL_HEADER = struct.Struct("<4s22xHH")


#: Zip-based torch files up to this size are read into memory once, checked there and
#: loaded from the checked bytes; larger ones are checked through a memory map and their
#: tensors mapped (setting up the maps costs more than reading a small file).
_READ_LIMIT = 192 * 1024


def _check_archive(path: pathlib.Path) -> tuple[bool, bool, Optional[bytes]]:
    """Check a zip-based torch file's members.

    The central directory is parsed by :mod:`zipfile`; each stored (uncompressed) member
    is located through its local header and its CRC-32 computed over the file's bytes: a
    read-only memory map of the file (no copy), or, for files up to :data:`_READ_LIMIT`,
    the bytes read once into memory, which are returned so that exactly the checked bytes
    are loaded. Compressed members, which torch does not write, are read through
    :mod:`zipfile`, which checks them too.

    Returns:
        ``(is a zip, is TorchScript, the file's bytes or None)``.

    Raises:
        CorruptFileError: a member's stored bytes do not match its CRC-32, a member lies
            beyond the end of the file, or the zip directory is damaged.
    """
    data: Optional[bytes] = None
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size <= _READ_LIMIT:
            data = handle.read(_READ_LIMIT + 1)
            if len(data) > _READ_LIMIT:  # the file grew since: check it through a map
                data = None
                handle.seek(0)
        head = data[:4] if data is not None else handle.read(4)
        if not head.startswith(_ZIP_MAGIC):
            return False, False, None
        try:
            with zipfile.ZipFile(handle if data is None else io.BytesIO(data)) as archive:
                infos = archive.infolist()
                stored = [i for i in infos if i.compress_type == zipfile.ZIP_STORED]
                for info in infos:
                    if info.compress_type != zipfile.ZIP_STORED:
                        with archive.open(info) as member:
                            while member.read(1 << 24):
                                pass
            if data is None:
                size = os.fstat(handle.fileno()).st_size
                mapped: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            else:
                size, mapped = len(data), data
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError, RuntimeError) as exc:
            raise CorruptFileError(
                f"'{path}' is corrupted: its zip archive does not verify ({exc}); the stored "
                "tensors would not be the ones written."
            ) from exc
    # torch.serialization.set_crc32_options(False) writes every CRC-32 field as 0: such a
    # file declares no checksum, so its members are checked for their place and size only
    # (a real CRC-32 of 0 for all of several non-empty members is a 2**-32-per-member event).
    checksums = not all(info.CRC == 0 for info in infos if info.file_size)
    try:
        view = memoryview(mapped)
        for info in stored:
            problem = _stored_member_problem(view, size, info, checksums)
            if problem:
                raise CorruptFileError(
                    f"'{path}' is corrupted: its zip archive does not verify ({problem}); "
                    "the stored tensors would not be the ones written."
                )
        view.release()
    finally:
        if data is None:
            with contextlib.suppress(BufferError):  # a view kept alive by a traceback
                mapped.close()
    names = [info.filename for info in infos]
    torchscript = any(n.split("/", 1)[-1] == "constants.pkl" for n in names) and \
        any("/code/" in f"/{n}" for n in names)
    return True, torchscript, data


def _stored_member_problem(view: memoryview, size: int, info: zipfile.ZipInfo,
                           checksums: bool = True) -> str:
    """What is wrong with one stored zip member (``""`` when its bytes match its CRC-32).

    With ``checksums=False`` (an archive written without CRC-32s) only the header, the name
    and the size are checked.
    """
    start = info.header_offset
    if start < 0 or start + _LOCAL_HEADER.size > size:
        return f"the header of {info.filename!r} lies beyond the end of the file"
    magic, name_length, extra_length = _LOCAL_HEADER.unpack(
        view[start:start + _LOCAL_HEADER.size])
    name_start = start + _LOCAL_HEADER.size
    if magic != _ZIP_MAGIC:
        return f"bad magic number for the header of {info.filename!r}"
    if bytes(view[name_start:name_start + name_length]) != info.orig_filename.encode(
            "utf-8" if info.flag_bits & 0x800 else "cp437"):
        return f"the header of {info.filename!r} names another file"
    if info.flag_bits & 0x1:
        return f"{info.filename!r} is encrypted"
    data_start = name_start + name_length + extra_length
    if info.compress_size != info.file_size or data_start + info.compress_size > size:
        return f"{info.filename!r} is truncated or its size fields disagree"
    if checksums and _crc32(view[data_start:data_start + info.compress_size]) != info.CRC:
        return f"Bad CRC-32 for file {info.filename!r}"
    return ""


register_reader(TorchReader())
