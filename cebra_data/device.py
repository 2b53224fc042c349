"""Device handling shared by every object that holds tensors (layer L0).

:class:`HasDevice` is ``cebra.io.HasDevice``: ``.to(device)`` moves every
tensor an object holds. :func:`normalize_device` turns what a ``device``
argument accepts (:data:`DeviceLike`) into one canonical string.
"""

from __future__ import annotations

import abc
from typing import Any, Optional, Union

import torch

from cebra_data.errors import DeviceUnavailableError

__all__ = ["DeviceLike", "HasDevice", "normalize_device", "available_devices", "check_device_available",
           "check_holds_values"]


#: What a ``device`` argument accepts: a string such as ``"cpu"`` or a ``torch.device``.
DeviceLike = Union[str, torch.device]


def normalize_device(device: DeviceLike) -> str:
    """Return the canonical string of ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``).

    Raises:
        TypeError: if ``device`` is neither a string nor a ``torch.device``.
        ValueError: if the string names no torch device.
        DeviceUnavailableError: (a ``ValueError`` and a ``RuntimeError``) if
            this machine lacks the device; the message lists the available ones.

    Example:
        >>> import torch
        >>> from cebra_data.device import normalize_device
        >>> normalize_device(torch.device("cpu")), normalize_device("cpu")
        ('cpu', 'cpu')
    """
    if isinstance(device, torch.device):
        return check_device_available(device)
    if not isinstance(device, str):
        raise TypeError(
            f"device should be a string such as 'cpu' or 'cuda', or a torch.device, "
            f"but got {device!r} of type {type(device).__name__}."
        )
    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"device should name a torch device such as 'cpu' or 'cuda:0', but got {device!r}."
        ) from err
    return check_device_available(parsed)


def available_devices() -> list:
    """The devices this machine's torch can use: ``"cpu"``, then ``"cuda:0"`` ..., ``"mps"``, ...

    Example:
        >>> from cebra_data.device import available_devices
        >>> available_devices()[0]
        'cpu'
    """
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        found += [f"xpu:{i}" for i in range(xpu.device_count())]
    return found


def check_device_available(device: torch.device) -> str:
    """The canonical string of ``device`` if this machine has it.

    ``"meta"`` (shapes without data) is always available.

    Raises:
        DeviceUnavailableError: naming the device asked for and the ones available.
    """
    name = str(device)
    if device.type in ("cpu", "meta"):
        return name
    available = available_devices()
    if device.type in {d.split(":")[0] for d in available}:
        if device.index is None or name in available:
            return name
        reason = "it has no device with that index"
    elif device.type == "cuda" and torch.version.cuda is None:
        reason = f"this torch ({torch.__version__}) was built without CUDA"
    else:
        reason = f"no {device.type} device was found"
    raise DeviceUnavailableError(
        f"device={name!r} is not available on this machine: {reason}. Available devices: "
        + ", ".join(repr(d) for d in available) + "."
    )


def check_holds_values(device: Optional[str], what: str) -> None:
    """Refuse the ``"meta"`` device for ``what``, which needs the values of its tensors.

    Tensors on ``"meta"`` have shapes but no values: a dataset checks its values when it is
    built (finite, integer labels ...) and a loader draws indices from them, so neither can
    work there. Moving a built dataset with ``.to("meta")`` is allowed (e.g. to test device
    handling), as in CEBRA.

    Raises:
        DeviceUnavailableError: for a ``"meta"`` device.
    """
    if device is not None and torch.device(device).type == "meta":
        raise DeviceUnavailableError(
            f"{what} cannot work on device='meta': meta tensors have shapes but no values, "
            f"and {what} needs them. Available devices: "
            + ", ".join(repr(d) for d in available_devices()) + "."
        )


def _move(value: Any, device: str) -> Any:
    """Move tensors (also inside lists, tuples, dicts and HasDevice objects) to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, HasDevice):
        return value.to(device)
    if isinstance(value, list):
        return [_move(v, device) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_move(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _move(v, device) for k, v in value.items()}
    return value


class HasDevice(metaclass=abc.ABCMeta):
    """Mixin for objects that hold tensors on one device (as ``cebra.io.HasDevice``).

    ``.to(device)`` moves every tensor the object holds -- attributes, and
    tensors inside lists, tuples, dicts and nested :class:`HasDevice` objects --
    and returns the object itself.

    Args:
        device: the device the object's tensors live on, e.g. ``"cpu"``.

    Example:
        >>> import torch
        >>> from cebra_data import HasDevice
        >>> class Holder(HasDevice):
        ...     def __init__(self):
        ...         super().__init__("cpu")
        ...         self.values = torch.zeros(3)
        >>> Holder().to("cpu").device
        'cpu'
    """

    @classmethod
    def __subclasshook__(cls, candidate: type) -> Any:
        """CEBRA's own ``cebra.io.HasDevice`` objects count as ``HasDevice`` (for ``isinstance``).

        Only for this class itself: a CEBRA object is never taken for one of our
        datasets or loaders.
        """
        if cls is HasDevice and any(
            klass.__name__ == "HasDevice" and klass.__module__.split(".")[0] == "cebra"
            for klass in candidate.__mro__
        ):
            return True
        return NotImplemented

    def __init__(self, device: Optional[DeviceLike] = None) -> None:
        self._device = normalize_device(device) if device is not None else None

    @property
    def device(self) -> Optional[str]:
        """The device of the object's tensors, as a string."""
        return getattr(self, "_device", None)

    @device.setter
    def device(self, device: DeviceLike) -> None:
        self.to(device)

    def to(self, device: DeviceLike) -> "HasDevice":
        """Move every tensor the object holds to ``device`` and return ``self``."""
        device = normalize_device(device)
        for name, value in list(vars(self).items()):
            if name == "_device":
                continue
            moved = _move(value, device)
            if moved is not value:
                object.__setattr__(self, name, moved)
        object.__setattr__(self, "_device", device)
        return self
