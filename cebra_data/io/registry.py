"""The reader registry: one table from file suffix to the readers that handle it.

A reader is a small object with the suffixes it handles, a cheap :meth:`Reader.can_read`
that looks at the file's first bytes (its magic number, where the format has one) and an
:meth:`Reader.open` that yields the file's entries. Each reader module registers its
readers in one line beside their class::

    register_reader(NpyReader())

:func:`find_reader` is the only place that maps a path to a reader.
"""

from __future__ import annotations

import abc
import contextlib
import pathlib
from typing import ClassVar

from cebra_data.errors import (
    CorruptFileError,
    DataFileNotFoundError,
    EmptyFileError,
    UnsupportedFileFormatError,
)

__all__ = [
    "HEAD_SIZE",
    "Reader",
    "check_file",
    "find_reader",
    "readers",
    "register_reader",
    "supported_suffixes",
]

#: Number of leading bytes handed to :meth:`Reader.can_read`.
HEAD_SIZE = 4096

_READERS: list["Reader"] = []


class Reader(abc.ABC):
    """Reads one file format into a list of :class:`~cebra_data.io._entries.Entry`.

    Attributes:
        name: Short name of the format (shown by ``inspect_file``).
        suffixes: Lower-case suffixes with the dot, e.g. ``(".npy",)``.
        description: One line for the formats table and error messages.
    """

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    def can_read(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` is in this format (cheap, magic bytes only).

        Args:
            head: The first :data:`HEAD_SIZE` bytes of the file (fewer for short files).
        """
        return True

    @abc.abstractmethod
    def open(self, path: pathlib.Path, *, trusted: bool) -> contextlib.AbstractContextManager:
        """Open ``path`` and yield its entries; resources are released on exit.

        Args:
            path: An existing, non-empty file.
            trusted: Whether code stored in the file may run while reading it.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(suffixes={self.suffixes})"


def register_reader(reader: Reader) -> Reader:
    """Add ``reader`` to the registry; readers registered first are asked first.

    Returns:
        The reader, so registration can sit beside the class in one line.
    """
    for suffix in reader.suffixes:
        if not (suffix.startswith(".") and suffix == suffix.lower()):
            raise ValueError(
                f"Reader suffixes should be lower case and start with a dot, but got {suffix!r}."
            )
    _READERS.append(reader)
    return reader


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
    if not path.exists():
        raise DataFileNotFoundError(f"No such file: '{path}'.")
    if path.is_dir():
        raise DataFileNotFoundError(f"'{path}' is a directory, not a data file.")
    if path.stat().st_size == 0:
        raise EmptyFileError(f"'{path}' is empty (0 bytes).")
    return path


def find_reader(path: pathlib.Path) -> Reader:
    """The reader for ``path``: chosen by suffix, confirmed by the file's first bytes.

    Raises:
        UnsupportedFileFormatError: no reader handles the suffix (lists the supported ones).
        CorruptFileError: the content does not match what the suffix promises.
    """
    suffix = path.suffix.lower()
    candidates = [r for r in _READERS if suffix in r.suffixes]
    if not candidates:
        raise UnsupportedFileFormatError("file suffix", suffix or path.name, supported_suffixes())
    with open(path, "rb") as handle:
        head = handle.read(HEAD_SIZE)
    for reader in candidates:
        if reader.can_read(head):
            return reader
    expected = " or ".join(r.description for r in candidates)
    raise CorruptFileError(
        f"'{path}' does not look like a {expected} file (its first bytes are {head[:12]!r}); "
        "it is corrupted or its suffix is wrong."
    )
