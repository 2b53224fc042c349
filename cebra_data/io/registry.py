"""The reader registry: one table from file suffix to the readers that handle it.

A reader (:class:`~cebra_data.io.reader.Reader`) is a small object with the suffixes it
handles, a cheap :meth:`~cebra_data.io.reader.Reader.can_read` that looks at the file's
first bytes (its magic number, where the format has one) and an
:meth:`~cebra_data.io.reader.Reader.entries` that yields the file's entries. Each reader
module registers its readers in one line beside their class::

    register_reader(NpyReader())

:func:`find_reader` is the only place that maps a path to a reader, and
:func:`open_entries` the one way every loader opens a file with it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import stat
from collections.abc import Iterator
from typing import Optional, Union

from cebra_data.errors import (
    CebraDataError,
    CorruptFileError,
    DataFileNotFoundError,
    EmptyFileError,
    UnsupportedFileFormatError,
)
from cebra_data.io.reader import HEAD_SIZE, Entry, Reader
from cebra_data.io.remote import check_url, is_url

__all__ = [
    "HEAD_SIZE",
    "Reader",
    "check_file",
    "find_reader",
    "open_entries",
    "readers",
    "register_reader",
    "register_suffix_hint",
    "supported_suffixes",
    "translated_errors",
]

_READERS: list[Reader] = []
_HINTS: dict[str, str] = {}


def register_reader(reader: Reader) -> Reader:
    """Add ``reader`` to the registry; readers registered first are asked first.

    Returns:
        The reader, so registration can sit beside the class in one line.
    """
    if not isinstance(reader, Reader):
        raise TypeError(
            f"register_reader expects an instance of cebra_data.io.reader.Reader, but got "
            f"{reader!r} of type {type(reader).__name__}."
        )
    for suffix in reader.suffixes:
        if not (suffix.startswith(".") and suffix == suffix.lower()):
            raise ValueError(
                f"Reader suffixes should be lower case and start with a dot, but got {suffix!r}."
            )
    _READERS.append(reader)
    return reader


def register_suffix_hint(suffix: str, hint: str) -> None:
    """Say what to use instead when ``load_data`` is given a file with ``suffix``.

    For suffixes no reader handles but another function of the package reads (SLEAP's
    ``.slp``: :func:`cebra_data.load_pose`); the hint ends the
    :class:`~cebra_data.errors.UnsupportedFileFormatError`.
    """
    _HINTS[suffix.lower()] = hint


def readers() -> list[Reader]:
    """All registered readers, in the order they are consulted."""
    return list(_READERS)


def supported_suffixes() -> list[str]:
    """Every suffix some reader handles, sorted."""
    return sorted({s for r in _READERS for s in r.suffixes})


def check_file(file: "str | pathlib.Path") -> pathlib.Path:
    """Return ``file`` as a path to an existing, non-empty regular file.

    Raises:
        TypeError: ``file`` is not a string or path.
        DataFileNotFoundError: the file does not exist or is a directory.
        EmptyFileError: the file has zero bytes.
    """
    if not isinstance(file, (str, pathlib.PurePath)) and not hasattr(file, "__fspath__"):
        raise TypeError(
            f"file should be a path (str or pathlib.Path), but got {type(file).__name__}."
        )
    path = pathlib.Path(file)
    try:
        info = os.stat(path)  # one system call for existence, kind and size
    except (FileNotFoundError, NotADirectoryError, ValueError):
        raise DataFileNotFoundError(f"No such file: '{path}'.") from None
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.EBADF):
            raise
        raise DataFileNotFoundError(f"No such file: '{path}'.") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataFileNotFoundError(f"'{path}' is a directory, not a data file.")
    if info.st_size == 0:
        raise EmptyFileError(f"'{path}' is empty (0 bytes).")
    return path


def find_reader(path: pathlib.Path, suffix: Optional[str] = None) -> Reader:
    """The reader for ``path``: chosen by suffix, confirmed by the file's first bytes.

    Args:
        path: The file.
        suffix: Read the file as if its suffix were this one (the pose readers recognise
            a file by its content, whatever its name); ``None``: the file's own suffix.

    Raises:
        UnsupportedFileFormatError: no reader handles the suffix (lists the supported ones).
        CorruptFileError: the content does not match what the suffix promises.
    """
    suffix = path.suffix.lower() if suffix is None else suffix
    candidates = [r for r in _READERS if suffix in r.suffixes]
    if not candidates:
        error = UnsupportedFileFormatError("file suffix", suffix or path.name,
                                           supported_suffixes())
        error.args = (f"'{path}': {error}" + (f" {_HINTS[suffix]}" if suffix in _HINTS else ""),)
        raise error
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        head = os.read(descriptor, HEAD_SIZE)
    finally:
        os.close(descriptor)
    for reader in candidates:
        if reader.can_read(head):
            return reader
    expected = " or ".join(r.description for r in candidates)
    raise CorruptFileError(
        f"'{path}' does not look like a {expected} file (its first bytes are {head[:12]!r}); "
        "it is corrupted or its suffix is wrong."
    )


@contextlib.contextmanager
def open_entries(
    file: Union[str, pathlib.Path], *, trusted: bool = False, as_suffix: Optional[str] = None
) -> Iterator[tuple[pathlib.Path, Reader, list[Entry]]]:
    """Open ``file`` with its registered reader and yield ``(path, reader, entries)``.

    Every error that is not already a :class:`~cebra_data.errors.CebraDataError` raised
    while the file is open is re-raised as :class:`~cebra_data.errors.CorruptFileError`
    with the original as ``__cause__``; so is a ``MemoryError`` while reading a file smaller
    than a quarter of the machine's memory (a corrupted size field asks for absurd
    amounts). The body of the ``with`` block must therefore validate its own arguments
    before entering.

    Args:
        file: Path of the file, or an ``http(s)://`` URL: URLs go to the reader that reads
            them (NWB files, read lazily by byte ranges: see :mod:`cebra_data.io.remote`)
            and are never turned into paths.
        trusted: Whether code stored in the file may run while reading it (see
            :func:`~cebra_data.io.load_data`).
        as_suffix: Read the file with the reader of this suffix instead of its own (see
            :func:`find_reader`).

    Returns:
        A context manager yielding the checked path (the URL, a ``str``, for a URL), its
        reader and the file's entries.

    Raises:
        TypeError: ``trusted`` is not a bool.
        DataFileNotFoundError, EmptyFileError, UnsupportedFileFormatError,
        CorruptFileError, UnsafeFileError, MissingDependencyError: see
            :func:`~cebra_data.io.load_data`.

    Example:
        >>> import numpy as np
        >>> from cebra_data.io import open_entries
        >>> np.savez(tmp_path / "two.npz", a=np.zeros(3), b=np.ones((2, 2)))
        >>> with open_entries(tmp_path / "two.npz") as (path, reader, entries):
        ...     print(reader.name, [(e.name, e.shape) for e in entries])
        npz [('a', (3,)), ('b', (2, 2))]
    """
    if not isinstance(trusted, bool):
        raise TypeError(f"trusted should be True or False, but got trusted={trusted!r}.")
    if is_url(file):
        with _url_entries(file, trusted) as opened:
            yield opened
        return
    path = check_file(file)
    reader = find_reader(path, as_suffix)
    with translated_errors(path, reader.description):
        with reader.entries(path, trusted=trusted) as entries:
            yield path, reader, entries


@contextlib.contextmanager
def translated_errors(path: pathlib.Path, description: str) -> Iterator[None]:
    """Turn every error raised while ``path`` is read into one of the documented types.

    A :class:`~cebra_data.errors.CebraDataError` passes (with the file named in front when
    its message lacks it); a ``MemoryError`` while reading a file smaller than a quarter
    of the machine's memory, and any other exception, become a
    :class:`~cebra_data.errors.CorruptFileError` naming the file, with the original as
    ``__cause__``. Every reader of a file (:func:`open_entries`, the pose readers) reads
    inside this one guard.

    Args:
        path: The file being read.
        description: The format, for the message (``"HDF5"``, ``"SLEAP (.slp)"`` ...).

    Example:
        >>> import pathlib
        >>> from cebra_data.io.registry import translated_errors
        >>> with translated_errors(pathlib.Path("x.bin"), "binary"):
        ...     raise KeyError("size")
        Traceback (most recent call last):
        ...
        cebra_data.errors.CorruptFileError: Could not read 'x.bin' as a binary file; ...
    """
    try:
        yield
    except CebraDataError as exc:
        raise _naming_file(exc, path.name, path) from exc.__cause__
    except MemoryError as exc:
        size = path.stat().st_size
        if size > _memory_bytes() // 4:
            raise  # a big file on a small machine: a genuine MemoryError
        raise CorruptFileError(
            f"Reading '{path}' ({size} bytes) asked for more memory than this machine has; a "
            "size field in the file is corrupted (or, for compressed data, it expands too much)."
        ) from exc
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read '{path}' as a {description} file; it looks corrupted or "
            f"truncated ({type(exc).__name__}: {exc})."
        ) from exc


@contextlib.contextmanager
def _url_entries(url: str, trusted: bool) -> Iterator[tuple[str, Reader, list[Entry]]]:
    """``open_entries`` for a URL: the reader that reads URLs (NWB), the URL never a path."""
    check_url(url)
    reader = next((r for r in _READERS if r.reads_urls), None)
    if reader is None:  # pragma: no cover - the NWB reader registers itself on import
        raise UnsupportedFileFormatError("URL reader", url, [])
    try:
        with reader.entries(url, trusted=trusted) as entries:
            yield url, reader, entries
    except CebraDataError as exc:
        raise _naming_file(exc, url, url) from exc.__cause__
    except Exception as exc:
        raise CorruptFileError(
            f"Could not read '{url}' as a {reader.description} file; it looks corrupted or "
            f"truncated ({type(exc).__name__}: {exc})."
        ) from exc


def _naming_file(exc: CebraDataError, name: str, path: Union[str, pathlib.Path]) -> CebraDataError:
    """``exc``, or the same error with the file named in front when its message lacks it."""
    message = str(exc)
    if name in message:
        return exc
    try:
        named = type(exc)(f"'{path}': {message}")
    except TypeError:  # an error type whose constructor takes other arguments
        return exc
    named.__traceback__ = exc.__traceback__
    return named


def _memory_bytes() -> int:
    """Physical memory in bytes (a large number where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return 1 << 62
