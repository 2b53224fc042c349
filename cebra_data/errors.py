"""Exception types raised by cebra_data.

Every exception subclasses a standard Python exception (``ValueError``,
``TypeError``, ``KeyError``, ``FileNotFoundError``, ...) so that generic
handlers keep working; the specific types let callers react precisely.
"""

from __future__ import annotations

__all__ = [
    "CebraDataError",
    "DimensionMismatchError",
    "MissingIndexError",
    "UnknownChoiceError",
]


class CebraDataError(Exception):
    """Base class of every error raised on purpose by cebra_data."""


class DimensionMismatchError(CebraDataError, ValueError):
    """Arrays or sessions disagree in a shape that must match."""


class MissingIndexError(CebraDataError, ValueError):
    """A dataset lacks the (continuous or discrete) index a component needs."""


class UnknownChoiceError(CebraDataError, ValueError):
    """A name (conditional, prior, mask, file suffix, ...) is not registered.

    The message always lists the valid names.
    """

    def __init__(self, what: str, received: object, valid) -> None:
        self.what = what
        self.received = received
        self.valid = sorted(str(v) for v in valid)
        super().__init__(
            f"Unknown {what} {received!r}. Valid choices are: "
            + ", ".join(repr(v) for v in self.valid)
            + "."
        )


class _KeyErrorMessage(CebraDataError, KeyError):
    """A ``KeyError`` whose ``str()`` is the plain message (no extra quotes)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
