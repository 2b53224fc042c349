"""Exception types raised by cebra_data.

Every exception subclasses a standard Python exception (``ValueError``,
``TypeError``, ``KeyError``, ``FileNotFoundError``, ...) so that generic
handlers keep working; the specific types let callers react precisely.
"""

from __future__ import annotations

__all__ = [
    "MaskingValueError",
    "MaskingTypeError",
    "NotPoseFileError",
    "DenseTooLargeError",
    "FileChangedError",
    "CebraDataError",
    "DimensionMismatchError",
    "HeldOutFitError",
    "UnsupportedCombinationError",
    "ShapeError",
    "MissingIndexError",
    "UnknownChoiceError",
    "DestinationExistsError",
    "SlowLayoutWarning",
]


class CebraDataError(Exception):
    """Base class of every error raised on purpose by cebra_data."""


class DimensionMismatchError(CebraDataError, ValueError):
    """Arrays or sessions disagree in a shape that must match."""


class MissingIndexError(CebraDataError, ValueError):
    """A dataset lacks the (continuous or discrete) index a component needs."""


class HeldOutFitError(CebraDataError, ValueError):
    """A normaliser was asked to fit on a held-out (validation or test) part of a split."""


class UnknownChoiceError(CebraDataError, ValueError):
    """A name (conditional, prior, mask, file suffix, ...) is not registered.

    The message always lists the valid names, and the received value's type
    when it is not a string (e.g. ``None`` or a number given for a name).
    """

    def __init__(self, what: str, received: object, valid) -> None:
        self.what = what
        self.received = received
        self.valid = sorted(str(v) for v in valid)
        kind = "" if isinstance(received, str) else f" (of type {type(received).__name__}, not a name)"
        super().__init__(
            f"Unknown {what} {received!r}{kind}. Valid choices are: "
            + ", ".join(repr(v) for v in self.valid)
            + "."
        )


class _KeyErrorMessage(CebraDataError, KeyError):
    """A ``KeyError`` whose ``str()`` is the plain message (no extra quotes)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


# --- io: loading data files and downloading datasets ---

import pickle as _pickle

__all__ += [
    "ChecksumMismatchError",
    "CorruptFileError",
    "DataFileNotFoundError",
    "DownloadError",
    "EmptyFileError",
    "EmptyKeypointError",
    "MissingColumnError",
    "MissingDependencyError",
    "MissingKeyError",
    "NonNumericDataError",
    "NotDeepLabCutError",
    "UnsafeFileError",
    "UnsupportedFileFormatError",
]


class UnsupportedFileFormatError(UnknownChoiceError, OSError):
    """No reader is registered for a file's suffix; the message lists the supported ones.

    Also an ``OSError`` because CEBRA raised ``OSError`` for an unknown suffix.
    """


class DataFileNotFoundError(CebraDataError, FileNotFoundError):
    """The data file does not exist (or is a directory)."""


class MissingKeyError(_KeyErrorMessage, AttributeError):
    """A ``key`` names no entry of the file; the message lists the available keys.

    Also an ``AttributeError`` because CEBRA raised ``AttributeError`` here.
    """


class MissingColumnError(_KeyErrorMessage, AttributeError):
    """A column, keypoint or individual is not in the file; the message lists the valid ones.

    Also an ``AttributeError`` because CEBRA raised ``AttributeError`` here.
    """


class EmptyFileError(CebraDataError, ValueError):
    """The file has no content (zero bytes, no rows or no entries)."""


class CorruptFileError(CebraDataError, ValueError):
    """The file is truncated, corrupted or not in the format its suffix promises.

    The error raised by the underlying library is chained as ``__cause__``.
    """


class NonNumericDataError(CebraDataError, TypeError):
    """The selected data is not numeric (strings, objects, dates), or the file holds no numeric entry."""


class UnsafeFileError(CebraDataError, _pickle.UnpicklingError, ValueError):
    """Loading the file would run code from it; pass ``trusted=True`` only for files you trust."""


class MissingDependencyError(CebraDataError, ModuleNotFoundError):
    """An optional package needed for this file is not installed; the message says what to install."""


class EmptyKeypointError(CebraDataError, ValueError):
    """A pose keypoint has no valid value in any frame, so it cannot be interpolated."""


class DownloadError(CebraDataError, OSError):
    """A download failed (HTTP error status, connection error, no usable file name)."""


class ChecksumMismatchError(CebraDataError, ValueError):
    """A downloaded file's checksum differs from the expected one; nothing was kept."""


class NotDeepLabCutError(CebraDataError, ValueError):
    """A file given to ``load_deeplabcut`` holds no DeepLabCut pose table."""


class UnsupportedCombinationError(CebraDataError, ValueError, NotImplementedError):
    """No loader serves this combination of labels and training options.

    A ``ValueError`` (the options are wrong for the data) and a
    ``NotImplementedError`` (what CEBRA's estimator raises for most of these
    combinations), so existing handlers of either keep working. The message
    lists the combinations that are possible for the data.
    """


class ShapeError(CebraDataError, ValueError, TypeError):
    """An array has the wrong number of dimensions.

    A ``ValueError`` and a ``TypeError``: CEBRA raised ``TypeError`` for some of
    these (e.g. a 2-D discrete index), so handlers of either keep working.
    """


class FileChangedError(CebraDataError, OSError):
    """The file behind a file-backed dataset changed size or time stamp, or disappeared."""


class DenseTooLargeError(CebraDataError, MemoryError):
    """A sparse matrix in a file would not fit in memory as the dense array ``load_data`` returns."""


class NotPoseFileError(NotDeepLabCutError):
    """A file given to ``load_pose`` holds no poses; the message says what it holds.

    A :class:`~cebra_data.errors.NotDeepLabCutError` (and so a ``ValueError``).
    """


class MaskingValueError(CebraDataError, ValueError, AssertionError):
    """A masking value out of range.

    Both the ``ValueError`` we raise and the ``AssertionError`` ``cebra.data``
    raises (its checks are ``assert`` statements), so handlers written for
    either keep working.
    """


class MaskingTypeError(CebraDataError, TypeError, ValueError, AssertionError):
    """A masking value or batch of the wrong type.

    Both our ``TypeError`` and what ``cebra.data`` raises in the same place: an
    ``AssertionError`` for a masking value, a ``ValueError`` for a batch that is
    not floating point.
    """


__all__ += ["DeviceUnavailableError"]


class DeviceUnavailableError(CebraDataError, ValueError, RuntimeError):
    """A ``device`` argument names a device this machine does not have.

    A ``ValueError`` (a wrong argument) and a ``RuntimeError`` (what torch
    raises for it), so handlers of either keep working. The message lists the
    available devices.
    """


# --- warnings: each one asks the user to act, and each has its own category ---

__all__ += [
    "CebraDataWarning",
    "PrecisionWarning",
    "DataChangedWarning",
    "AmbiguousDataWarning",
    "PerformanceWarning",
    "MethodologyWarning",
    "DownloadRetryWarning",
    "DeprecatedNameWarning",
]


class CebraDataWarning(UserWarning):
    """Base class of every warning cebra_data raises.

    Each warning says what changed in the data (or which choice needs the
    user) and how to fix it. ``docs/warnings.rst`` lists them all, with how to
    silence each one, e.g.
    ``warnings.filterwarnings("ignore", category=cebra_data.errors.PrecisionWarning)``.
    """


class PrecisionWarning(CebraDataWarning):
    """A dtype conversion changed values: integers beyond ``2**24`` rounded, or distinct labels merged."""


class DataChangedWarning(CebraDataWarning):
    """Part of the input is not in the result: rows cut off, columns or entries not read, labels replaced."""


class AmbiguousDataWarning(CebraDataWarning):
    """The input can be read in two ways; the message says which one was taken and how to choose."""


class PerformanceWarning(CebraDataWarning):
    """The request works but will be slow or use much memory; the message gives the cost and the fix."""


class MethodologyWarning(CebraDataWarning):
    """The request is valid but weakens the analysis (leakage, degenerate positives, too few pairs)."""


class DownloadRetryWarning(CebraDataWarning):
    """A download attempt failed and is tried again (as CEBRA's downloader does)."""


class DeprecatedNameWarning(CebraDataWarning, DeprecationWarning):
    """A deprecated name CEBRA still accepts was used (e.g. ``conditional="delta"``); the message names
    the current one. Also a ``DeprecationWarning``: hidden by default outside ``__main__``, as CEBRA's."""


# --- patch: running CEBRA on cebra_data ---

__all__ += ["CebraAlreadyImportedError"]


class CebraAlreadyImportedError(CebraDataError, RuntimeError):
    """``cebra_data.patch_cebra()`` was called after ``cebra`` was imported.

    CEBRA's modules have bound their own data classes by then; the message says to
    call ``patch_cebra()`` first, or to run the script with ``python -m cebra_data.patch``.
    """


__all__ += ["UnsupportedFormatVersionError"]


class UnsupportedFormatVersionError(CebraDataError, ValueError):
    """The file is intact, but in a version or variant of its format that cannot be read.

    For example a SLEAP file written before SLEAP stored its format version, or a joblib
    pickle written by Python 2 that joblib refuses. The message gives the reading
    library's reason and how to convert the file.
    """


__all__ += ["AmbiguousPosesError"]


class AmbiguousPosesError(CebraDataError, ValueError):
    """A pose file's poses do not form one ``(frames, individuals, keypoints)`` array.

    For example a SLEAP file with instances of several videos or skeletons, or several
    untracked instances in one frame. The message says how to split or track the file.
    """


class DestinationExistsError(CebraDataError, FileExistsError):
    """A file would be overwritten without ``overwrite=True`` (e.g. :func:`cebra_data.rechunk`)."""


class SlowLayoutWarning(PerformanceWarning):
    """A file's storage layout will make sampling much slower than from memory.

    Raised once, when the dataset is built (e.g. :class:`cebra_data.HDF5Dataset` over a
    gzip-chunked dataset larger than its chunk cache). The message gives the estimated
    cost per batch and the fix (``cebra-data rechunk``). To silence it::

        import warnings
        from cebra_data.errors import SlowLayoutWarning
        warnings.filterwarnings("ignore", category=SlowLayoutWarning)
    """


# --- io: files read by URL (http/https, byte ranges) ---

__all__ += [
    "RemoteConnectionError",
    "RemoteFileError",
    "RemoteFileNotFoundError",
    "RemoteTimeoutError",
    "UnsupportedURLError",
    "OverlappingIntervalsError",
]


class RemoteFileError(CebraDataError, OSError):
    """A file given by URL could not be read: an HTTP error status, or a server without byte ranges.

    The message names the URL; the library's error, where there is one, is the ``__cause__``.
    """


class RemoteFileNotFoundError(DataFileNotFoundError, RemoteFileError):
    """The server answered that the URL names no file (HTTP 404 or 410)."""


class RemoteConnectionError(RemoteFileError, ConnectionError):
    """No usable connection to the server of a URL (refused, reset, name not resolved).

    A ``ConnectionError``, never a ``FileNotFoundError``: the file may well exist.
    """


class RemoteTimeoutError(RemoteConnectionError, TimeoutError):
    """The server of a URL accepted the connection but did not answer in time (a stalled server)."""


class UnsupportedURLError(CebraDataError, ValueError):
    """A URL whose scheme is not read (only ``http://`` and ``https://`` are), or that cannot be parsed
    (an unclosed IPv6 bracket, a port out of range); the message names the URL and says what to use."""


class OverlappingIntervalsError(CebraDataError, ValueError):
    """Intervals used as trials or labels (an NWB interval table) overlap, so a time would belong to two."""
