"""The import hook behind :func:`patch_cebra`: CEBRA's own code on cebra_data's modules.

:func:`patch_cebra` puts one finder first on ``sys.meta_path``. From then on an
import of a name in :data:`ALIASES` (``cebra.data``, ``cebra.data.<module>``,
``cebra.distributions``, ``cebra.distributions.<module>``) returns the cebra_data
module it names, and two of CEBRA's own modules are completed right after they run
(:data:`COMPLETIONS`):

* ``cebra.io``: ``cebra.io.HasDevice`` becomes a subclass of CEBRA's class, with
  CEBRA's code unchanged, that also counts cebra_data's objects as instances (see
  :func:`recognise_cebra_data_objects`). CEBRA's ``Solver`` derives from it and keeps
  CEBRA's attribute tracking and ``.to()``.
* ``cebra.integrations.deeplabcut``: ``load_deeplabcut`` is cebra_data's, and so is
  ``cebra.load_deeplabcut``, which ``cebra/__init__`` imports from there.
  (``cebra.load_data`` is ``cebra.data.load.load``, so it is cebra_data's already.)
* ``cebra.integrations.sklearn.cebra``: when the patch has a ``seed``, each loader
  ``cebra.CEBRA.fit`` builds gets the next seed of that stream (see
  :func:`seed_cebras_loaders`).

While CEBRA's data package is ours, :class:`~cebra_data.Offset` reports the module
``cebra.data.datatypes`` (where CEBRA then finds it), so a model fitted under the
patch pickles its ``offset_`` under the name that CEBRA alone reads as its own.

This module never imports ``cebra``; nothing here runs until :func:`patch_cebra`.
"""

from __future__ import annotations

import abc
import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence

from cebra_data.datatypes import Offset
from cebra_data.device import HasDevice
from cebra_data.errors import CebraAlreadyImportedError, CebraDataWarning
from cebra_data.io import load_deeplabcut
from cebra_data.seeding import as_generator, derive_seed

__all__ = [
    "ALIASES",
    "COMPLETIONS",
    "CEBRA_VERSION",
    "cebra_is_patched",
    "patch_cebra",
    "recognise_cebra_data_objects",
    "seed_cebras_loaders",
    "unpatch_cebra",
]

#: The CEBRA release the patch is made for and tested with.
CEBRA_VERSION = "0.6.1"

#: CEBRA's module -> the cebra_data module that answers for it under the patch.
#: Names, not modules: ``cebra_data`` itself (the answer for ``cebra.data``) is the
#: package that imports this module; each target is imported by :func:`patch_cebra`.
ALIASES: Dict[str, str] = {
    "cebra.data": "cebra_data",
    "cebra.data.assets": "cebra_data.assets",
    "cebra.data.base": "cebra_data.base",
    "cebra.data.datasets": "cebra_data.datasets",
    "cebra.data.datatypes": "cebra_data.datatypes",
    "cebra.data.helper": "cebra_data.helper",
    "cebra.data.load": "cebra_data.load",
    "cebra.data.masking": "cebra_data.masking",
    "cebra.data.multi_session": "cebra_data.multi_session",
    "cebra.data.multiobjective": "cebra_data.multiobjective",
    "cebra.data.single_session": "cebra_data.single_session",
    "cebra.distributions": "cebra_data.distributions",
    "cebra.distributions.base": "cebra_data.distributions.base",
    "cebra.distributions.continuous": "cebra_data.distributions.continuous",
    "cebra.distributions.discrete": "cebra_data.distributions.discrete",
    "cebra.distributions.index": "cebra_data.distributions.index",
    "cebra.distributions.mixed": "cebra_data.distributions.mixed",
    "cebra.distributions.multisession": "cebra_data.distributions.multisession",
}

#: The module under which :class:`~cebra_data.Offset` pickles while CEBRA runs on ours.
CEBRA_OFFSET_MODULE = "cebra.data.datatypes"


def recognise_cebra_data_objects(io_module: types.ModuleType) -> None:
    """Make ``io_module.HasDevice`` (``cebra.io``'s) count cebra_data's objects as instances.

    CEBRA's class has the plain metaclass ``type``, whose ``isinstance`` cannot be
    hooked. It is replaced, under its own name, by a subclass with the metaclass
    ``abc.ABCMeta`` and no code of its own: every method is still CEBRA's. Its
    ``__subclasshook__`` counts CEBRA's class (and its subclasses) and
    :class:`cebra_data.HasDevice` (and so every cebra_data dataset, loader and
    distribution). CEBRA's ``HasDevice.__setattr__`` looks the name up at call time,
    so it tracks and moves a cebra_data object assigned to one of CEBRA's objects.

    Args:
        io_module: the module ``cebra.io``, just executed.
    """
    original = io_module.HasDevice

    def __subclasshook__(cls: type, candidate: type) -> Any:
        if cls is hooked and (issubclass(candidate, original) or issubclass(candidate, HasDevice)):
            return True
        return NotImplemented

    hooked = abc.ABCMeta(original.__name__, (original,), {
        "__module__": original.__module__,
        "__qualname__": original.__qualname__,
        "__doc__": original.__doc__,
        "__subclasshook__": classmethod(__subclasshook__),
    })
    io_module.HasDevice = hooked


def use_cebra_data_load_deeplabcut(deeplabcut_module: types.ModuleType) -> None:
    """Make ``cebra.integrations.deeplabcut.load_deeplabcut`` cebra_data's."""
    deeplabcut_module.load_deeplabcut = load_deeplabcut


def seed_cebras_loaders(estimator_module: types.ModuleType) -> None:
    """Give each loader that ``cebra.CEBRA.fit`` builds a seed, when the patch has one.

    CEBRA's estimator builds its loader in the module function ``_init_loader`` and
    passes no seed (its own loaders draw from torch's and numpy's global state). Under
    ``patch_cebra(seed=s)`` the wrapper adds ``seed=`` the next seed derived from
    ``s`` (:func:`cebra_data.seeding.derive_seed`), so the n-th fit after patching
    draws the same batches in every run; ``torch.manual_seed`` still fixes the
    model's initial weights, which CEBRA draws from torch's global generator.
    Without a seed the loaders get none, and draw from fresh entropy.

    Args:
        estimator_module: the module ``cebra.integrations.sklearn.cebra``, just executed.
    """
    original = estimator_module._init_loader

    @functools.wraps(original)
    def _init_loader(*args: Any, **kwargs: Any) -> Any:
        shared = kwargs.get("shared_kwargs")
        if _STREAM and isinstance(shared, dict) and "seed" not in shared:
            kwargs["shared_kwargs"] = {**shared, "seed": derive_seed(_STREAM[0])}
        return original(*args, **kwargs)

    estimator_module._init_loader = _init_loader


#: CEBRA's own modules that are completed right after they run: name -> completion.
COMPLETIONS: Dict[str, Callable[[types.ModuleType], None]] = {
    "cebra.io": recognise_cebra_data_objects,
    "cebra.integrations.deeplabcut": use_cebra_data_load_deeplabcut,
    "cebra.integrations.sklearn.cebra": seed_cebras_loaders,
}


class _AliasLoader(importlib.abc.Loader):
    """Answers an import of one of CEBRA's names with a cebra_data module."""

    def __init__(self, target: types.ModuleType) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # a placeholder, replaced in sys.modules by exec_module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system returns what sys.modules holds under the name after this
        # call, and binds it on the parent package (cebra.data on cebra, ...).
        sys.modules[module.__name__] = self.target
        _name_offset_for_cebra()


class _CompletingLoader(importlib.abc.Loader):
    """Runs one of CEBRA's modules with its own loader, then completes it."""

    def __init__(self, loader: Any, complete: Callable[[types.ModuleType], None]) -> None:
        self.loader = loader
        self.complete = complete

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.loader.exec_module(module)
        self.complete(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, resource readers...
        return getattr(self.loader, name)


class _CebraFinder(importlib.abc.MetaPathFinder):
    """The finder that :func:`patch_cebra` puts first on ``sys.meta_path``."""

    def __init__(self, targets: Dict[str, types.ModuleType]) -> None:
        self.targets = targets

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[types.ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname in self.targets:
            module = self.targets[fullname]
            return importlib.util.spec_from_loader(
                fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))
        if fullname in COMPLETIONS:
            spec = self._find_elsewhere(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _CompletingLoader(spec.loader, COMPLETIONS[fullname])
            return spec
        return None

    def _find_elsewhere(self, fullname: str, path: Optional[Sequence[str]],
                        target: Optional[types.ModuleType]) -> Optional[importlib.machinery.ModuleSpec]:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


_FINDER: List[_CebraFinder] = []  # the installed finder, while patched
_STREAM: List[Any] = []  # the generator of the loaders' seeds, while patched with a seed
_SEED: List[Optional[int]] = []  # the seed the patch was given


def _cebra_modules() -> List[str]:
    return sorted(name for name in sys.modules if name == "cebra" or name.startswith("cebra."))


def _name_offset_for_cebra() -> None:
    Offset.__module__ = CEBRA_OFFSET_MODULE


def _name_offset_for_cebra_data() -> None:
    Offset.__module__ = "cebra_data.datatypes"


def cebra_is_patched() -> bool:
    """Whether :func:`patch_cebra` is in effect (and :func:`unpatch_cebra` not yet called).

    Example:
        >>> import cebra_data
        >>> cebra_data.cebra_is_patched()
        False
    """
    return bool(_FINDER)


def patch_cebra(seed: Optional[int] = None) -> None:
    """Make CEBRA's own code run on cebra_data; call it before ``import cebra``.

    Afterwards, ``import cebra`` imports CEBRA 0.6.1 with its data layer answered by
    cebra_data: ``cebra.data`` is :mod:`cebra_data`, ``cebra.data.<module>`` is
    ``cebra_data.<module>`` (``base``, ``datasets``, ``datatypes``, ``helper``,
    ``load``, ``assets``, ``masking``, ``multi_session``, ``multiobjective``,
    ``single_session``), ``cebra.distributions[.<module>]`` is
    ``cebra_data.distributions[.<module>]``, ``cebra.load_data``,
    ``cebra.load_deeplabcut`` and ``cebra.integrations.deeplabcut.load_deeplabcut``
    are cebra_data's, and ``cebra.io.HasDevice`` counts cebra_data's datasets as
    instances. Everything else (models, solvers, criteria, ``cebra.CEBRA``) is CEBRA's.
    Calling it again with the same seed changes nothing. :func:`unpatch_cebra` undoes
    it. The command ``python -m cebra_data.patch [--seed S] script.py`` runs a script
    with the patch applied.

    Args:
        seed: the seed of the loaders that ``cebra.CEBRA.fit`` builds: the n-th fit
            after patching gets the n-th seed derived from it (see
            :func:`seed_cebras_loaders`). ``None``: each loader draws from fresh entropy.

    Raises:
        ValueError: if the patch is in effect with another seed (call
            :func:`unpatch_cebra` first).
        CebraAlreadyImportedError: if ``cebra`` (or one of its modules) was imported
            before: its modules have bound CEBRA's classes by then. Call
            ``patch_cebra()`` first.

    Example (at the top of a script, before anything imports ``cebra``)::

        import cebra_data
        cebra_data.patch_cebra()

        import cebra
        assert cebra.data is cebra_data
        model = cebra.CEBRA(max_iterations=10).fit(neural, behaviour)  # on cebra_data's loaders
    """
    if seed is not None:
        as_generator(seed)  # checks the seed (TypeError, ValueError) before anything changes
    if _FINDER:
        if seed != _SEED[0]:
            raise ValueError(
                f"cebra_data.patch_cebra() is in effect with seed={_SEED[0]!r}, but got seed={seed!r}; "
                "call cebra_data.unpatch_cebra() first to patch with another seed."
            )
        return
    loaded = _cebra_modules()
    if loaded:
        shown = ", ".join(loaded[:5]) + (f" and {len(loaded) - 5} more" if len(loaded) > 5 else "")
        raise CebraAlreadyImportedError(
            "cebra_data.patch_cebra() must run before cebra is imported, but cebra was imported "
            f"already ({shown}): its modules hold CEBRA's own data classes. Call "
            "cebra_data.patch_cebra() before the first `import cebra` (at the top of the script, "
            "or restart the interpreter), or run the script unchanged with "
            "`python -m cebra_data.patch script.py`."
        )
    _warn_on_other_cebra_versions()
    targets = {name: importlib.import_module(target) for name, target in ALIASES.items()}
    finder = _CebraFinder(targets)
    sys.meta_path.insert(0, finder)
    _FINDER.append(finder)
    _SEED.append(seed)
    if seed is not None:
        _STREAM.append(as_generator(seed))


def unpatch_cebra() -> None:
    """Undo :func:`patch_cebra` for later imports of ``cebra``.

    The finder leaves ``sys.meta_path``, the CEBRA modules imported under the patch
    leave ``sys.modules`` (the next ``import cebra`` imports plain CEBRA), and
    :class:`~cebra_data.Offset` pickles under its own name again. Objects created
    under the patch, and names bound to the patched modules, stay as they are.
    Does nothing when the patch is not in effect.
    """
    if not _FINDER:
        return
    finder = _FINDER.pop()
    _SEED.clear()
    _STREAM.clear()
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
    for name in _cebra_modules():
        del sys.modules[name]
    _name_offset_for_cebra_data()


def _warn_on_other_cebra_versions() -> None:
    try:
        version = importlib.metadata.version("cebra")
    except importlib.metadata.PackageNotFoundError:
        return  # nothing to patch yet; `import cebra` will say so
    if version != CEBRA_VERSION:
        warnings.warn(
            f"cebra_data.patch_cebra() is made for CEBRA {CEBRA_VERSION}, but CEBRA {version} "
            f"is installed; its modules may expect names cebra_data does not have. Install "
            f"cebra=={CEBRA_VERSION} to silence this warning.",
            CebraDataWarning,
            stacklevel=3,
        )
