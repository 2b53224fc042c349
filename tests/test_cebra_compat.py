"""Drop-in compatibility with the data layer of CEBRA 0.6.1.

Two sources of truth:

* ``tests/data/cebra_0_6_1_api.json`` -- CEBRA's API recorded from the
  installed package (names, signatures, dataclass fields, bases; see its
  ``public_name_rule``). The module-level tests use it and need no CEBRA.
* the live package, when ``cebra`` is importable: :class:`TestAgainstInstalledCebra`
  reads the same facts from it (and checks that the JSON still matches it).

Module mapping: ``cebra.data.X`` -> ``cebra_data.X`` and
``cebra.distributions.X`` -> ``cebra_data.distributions.X`` (the packages
``cebra.data`` and ``cebra.distributions`` map to ``cebra_data`` and
``cebra_data.distributions``).

Checks, for every module:

* every public name resolves at our path, as a class where CEBRA has a class
  and a function where CEBRA has a function;
* a name CEBRA re-exports from another ``cebra.data``/``cebra.distributions``
  module is our corresponding object itself (not a copy);
* class constructors and functions accept CEBRA's parameters: the same
  positional parameters in the same order, CEBRA's keyword parameters, a
  default wherever CEBRA has one, ``*args``/``**kwargs`` where CEBRA has them,
  and no additional required parameter;
* classes derive from our counterparts of CEBRA's ``cebra.data`` /
  ``cebra.distributions`` bases (and of ``cebra.io.HasDevice``), so
  ``isinstance`` checks carry over;
* loader dataclasses: the init fields that are not keyword-only start with
  CEBRA's fields, in order, with CEBRA's defaults.

Expected failures are listed explicitly below, each with its reason.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import pathlib
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import torch

from cebra_data.device import HasDevice

API_PATH = pathlib.Path(__file__).resolve().parent / "data" / "cebra_0_6_1_api.json"
API: Dict[str, Any] = json.loads(API_PATH.read_text())

#: CEBRA names we deliberately do not provide because CEBRA's module has them only
#: as a side effect of importing a third-party or internal helper. Empty: every
#: public name is provided. Entries: (cebra module, name) -> reason.
ALLOWED_MISSING: Dict[Tuple[str, str], str] = {}

#: Checks on modules that colleagues are writing right now (non-strict xfail: they
#: pass as soon as the module is complete). Keys: (check, cebra module, name).
PENDING: Dict[Tuple[str, str, str], str] = {}


#: Known incompatibilities in modules owned by others (strict xfail: the test
#: fails once they are fixed, so the entry gets removed). Keys as in PENDING.
KNOWN_GAPS: Dict[Tuple[str, str, str], str] = {
}


# -- shared helpers (used with the JSON and with the live package) ------------------


def our_module_name(cebra_name: str) -> str:
    """``cebra.data.X`` -> ``cebra_data.X``; ``cebra.distributions.X`` -> ``cebra_data.distributions.X``."""
    for prefix, ours in (("cebra.data", "cebra_data"), ("cebra.distributions", "cebra_data.distributions")):
        if cebra_name == prefix:
            return ours
        if cebra_name.startswith(prefix + "."):
            return ours + cebra_name[len(prefix):]
    raise ValueError(f"{cebra_name} is outside cebra.data and cebra.distributions")


def maps_to_ours(cebra_name: str) -> bool:
    return cebra_name.split(".")[:2] in (["cebra", "data"], ["cebra", "distributions"])


def our_object(cebra_qualified: str) -> Any:
    """Our counterpart of ``cebra.<package>.<module>.<Name>``."""
    module, name = cebra_qualified.rsplit(".", 1)
    return getattr(importlib.import_module(our_module_name(module)), name)


def expectation(check: str, module: str, name: str) -> Optional[Any]:
    """The xfail mark for a check listed in PENDING or KNOWN_GAPS, else ``None``."""
    key = (check, module, name)
    if key in PENDING:
        return pytest.mark.xfail(strict=False, reason=PENDING[key])
    if key in KNOWN_GAPS:
        return pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[key])
    return None


def parameter_record(parameter: inspect.Parameter) -> Dict[str, str]:
    """A parameter in the JSON's format: name, kind and (if any) the default's repr."""
    record = {"name": parameter.name, "kind": parameter.kind.name}
    if parameter.default is not inspect.Parameter.empty:
        record["default"] = repr(parameter.default)
    return record


_POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")


def signature_problems(ours: Callable, cebra_parameters: List[Dict[str, str]]) -> List[str]:
    """Why a call written for CEBRA's signature would not work with ``ours`` (empty if it would)."""
    parameters = inspect.signature(ours).parameters
    kinds = {p.kind.name for p in parameters.values()}
    problems = []
    cebra_positional = [p["name"] for p in cebra_parameters if p["kind"] in _POSITIONAL]
    our_positional = [p.name for p in parameters.values() if p.kind.name in _POSITIONAL]
    if our_positional[: len(cebra_positional)] != cebra_positional:
        problems.append(
            f"positional parameters should start with {cebra_positional}, got {our_positional}"
        )
    for expected in cebra_parameters:
        name, kind = expected["name"], expected["kind"]
        if kind in ("VAR_POSITIONAL", "VAR_KEYWORD"):
            if kind not in kinds:
                problems.append(f"no {'*args' if kind == 'VAR_POSITIONAL' else '**kwargs'} for {name}")
            continue
        ours_parameter = parameters.get(name)
        if ours_parameter is None:
            if not (kind == "KEYWORD_ONLY" and "VAR_KEYWORD" in kinds):
                problems.append(f"parameter {name!r} is missing")
            continue
        if kind == "KEYWORD_ONLY" and ours_parameter.kind.name == "POSITIONAL_ONLY":
            problems.append(f"parameter {name!r} cannot be passed by keyword")
        if "default" in expected and ours_parameter.default is inspect.Parameter.empty:
            problems.append(f"parameter {name!r} has CEBRA's default {expected['default']} but none here")
    cebra_names = {p["name"] for p in cebra_parameters}
    for parameter in parameters.values():
        required = parameter.default is inspect.Parameter.empty and parameter.kind.name not in (
            "VAR_POSITIONAL", "VAR_KEYWORD")
        if required and parameter.name not in cebra_names:
            problems.append(f"additional required parameter {parameter.name!r}")
    return problems


def base_problems(ours: type, cebra_mro: List[str]) -> List[str]:
    """CEBRA bases (qualified names) of which ``ours`` is not a subclass of our counterpart."""
    problems = []
    for base in cebra_mro:
        if base == "cebra.io.HasDevice":
            counterpart: Any = HasDevice
        elif maps_to_ours(base):
            try:
                counterpart = our_object(base)
            except (ImportError, AttributeError):
                problems.append(f"base {base} has no counterpart")
                continue
        else:
            continue  # builtins, abc.ABC, ...
        if not issubclass(ours, counterpart):
            problems.append(f"not a subclass of {counterpart.__module__}.{counterpart.__qualname__} ({base})")
    return problems


def loader_field_problems(ours: type, cebra_fields: List[Dict[str, Any]]) -> List[str]:
    """Whether our positional init fields start with CEBRA's, in order, with CEBRA's defaults."""
    if not dataclasses.is_dataclass(ours):
        return [f"{ours.__name__} is not a dataclass"]
    expected = [f for f in cebra_fields if f["init"] and not f["kw_only"]]
    fields = [f for f in dataclasses.fields(ours) if f.init and not f.kw_only]
    names = [f.name for f in fields]
    if names[: len(expected)] != [f["name"] for f in expected]:
        return [f"init fields should start with {[f['name'] for f in expected]}, got {names}"]
    problems = []
    for cebra_field, field in zip(expected, fields):
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = None
        if cebra_field.get("default") != default:
            problems.append(f"field {field.name}: default {default}, CEBRA's is {cebra_field.get('default')}")
    return problems


def public_items(api: Dict[str, Any]) -> Iterator[Tuple[str, str, Optional[Dict[str, Any]]]]:
    """(cebra module, name, object record or None) for every public name of every module and package."""
    for module, record in api["modules"].items():
        for name in record["public_names"]:
            yield module, name, record["objects"].get(name)
    for package, record in api["packages"].items():
        for name in record["public_names"]:
            if name not in record["all_names_missing"]:  # in __all__ but absent in CEBRA itself
                yield package, name, None


def name_problems(module: str, name: str, record: Optional[Dict[str, Any]]) -> List[str]:
    if (module, name) in ALLOWED_MISSING:
        return []
    ours = importlib.import_module(our_module_name(module))
    if not hasattr(ours, name):
        return [f"{our_module_name(module)}.{name} is missing"]
    obj = getattr(ours, name)
    kind = (record or {}).get("kind")
    if kind == "class" and not isinstance(obj, type):
        return [f"{our_module_name(module)}.{name} should be a class, got {type(obj).__name__}"]
    if kind == "function" and (isinstance(obj, type) or not callable(obj)):
        return [f"{our_module_name(module)}.{name} should be a function, got {type(obj).__name__}"]
    defined_in = (record or {}).get("defined_in", module)
    if defined_in != module and maps_to_ours(defined_in):
        original = getattr(importlib.import_module(our_module_name(defined_in)), name, None)
        if obj is not original:
            return [f"{our_module_name(module)}.{name} should be {our_module_name(defined_in)}.{name} itself"]
    return []


def check_cases(check: str, items: List[Tuple[str, str, Any]]) -> List[Any]:
    return [
        pytest.param(module, name, value, id=f"{module}.{name}",
                     marks=[m for m in [expectation(check, module, name)] if m is not None])
        for module, name, value in items
    ]


# -- against the recorded API (no CEBRA needed) ---------------------------------------

NAME_CASES = check_cases("name", list(public_items(API)))

SIGNATURE_CASES = check_cases("signature", [
    (module, name, record.get("init_parameters", record.get("parameters")))
    for module, module_record in API["modules"].items()
    for name, record in module_record["objects"].items()
    if record.get("defined_in", module) == module  # each definition once, in its home module
])

BASE_CASES = check_cases("bases", [
    (module, name, record["mro"])
    for module, module_record in API["modules"].items()
    for name, record in module_record["objects"].items()
    if record["kind"] == "class" and record.get("defined_in", module) == module
])

LOADER_CASES = check_cases("loader", [
    (qualified.rsplit(".", 1)[0], qualified.rsplit(".", 1)[1],
     API["modules"][qualified.rsplit(".", 1)[0]]["objects"][qualified.rsplit(".", 1)[1]]["dataclass_fields"])
    for qualified in API["loader_classes"]
])


def test_recorded_api_is_the_expected_version():
    assert API["cebra_version"] == "0.6.1"
    assert len(API["modules"]) == 16 and len(API["loader_classes"]) == 14


@pytest.mark.parametrize("module, name, record", NAME_CASES)
def test_public_name_resolves_at_our_path(module, name, record):
    assert name_problems(module, name, record) == []


@pytest.mark.parametrize("module, name, cebra_parameters", SIGNATURE_CASES)
def test_constructor_and_function_accept_cebra_parameters(module, name, cebra_parameters):
    ours = getattr(importlib.import_module(our_module_name(module)), name)
    assert signature_problems(ours, cebra_parameters) == []


@pytest.mark.parametrize("module, name, mro", BASE_CASES)
def test_class_derives_from_our_counterparts_of_cebra_bases(module, name, mro):
    ours = getattr(importlib.import_module(our_module_name(module)), name)
    assert base_problems(ours, mro) == []


@pytest.mark.parametrize("module, name, cebra_fields", LOADER_CASES)
def test_loader_init_fields_start_with_cebra_fields(module, name, cebra_fields):
    ours = getattr(importlib.import_module(our_module_name(module)), name)
    assert loader_field_problems(ours, cebra_fields) == []


def test_the_checks_detect_incompatibilities():
    """The helpers above report what they should (so a passing run means something)."""

    def reordered(b, a=1):  # CEBRA: (a, b=1)
        pass

    def needs_extra(a, b=1, *, c):
        pass

    cebra = [{"name": "a", "kind": "POSITIONAL_OR_KEYWORD"},
             {"name": "b", "kind": "POSITIONAL_OR_KEYWORD", "default": "1"},
             {"name": "rest", "kind": "VAR_KEYWORD"}]
    assert len(signature_problems(reordered, cebra)) == 3  # order, b's default, **kwargs
    assert signature_problems(needs_extra, cebra) == ["no **kwargs for rest", "additional required parameter 'c'"]

    @dataclasses.dataclass
    class Loader:
        batch_size: int = 5
        dataset: Any = None

    fields = [{"name": "dataset", "init": True, "kw_only": False, "default": "None"},
              {"name": "batch_size", "init": True, "kw_only": False, "default": "None"}]
    assert loader_field_problems(Loader, fields) != []
    assert base_problems(int, ["cebra.io.HasDevice"]) != []
    assert name_problems("cebra.data.datatypes", "NoSuchName", None) != []
    assert name_problems("cebra.data.datasets", "Offset", {"kind": "class", "defined_in": "cebra.data.datatypes"}) == []
    assert name_problems("cebra.data.datasets", "Batch", {"kind": "class", "defined_in": "cebra.data.datatypes"}) == []
    assert name_problems("cebra.data.datasets", "TensorDataset", {"kind": "function"}) != []


# -- against the installed CEBRA (skipped when it is not importable) --------------------


def _source_level_names(module: types.ModuleType) -> set:
    """Names bound at the top level of a module's source (assignments, defs, classes)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _is_cebra(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "cebra" or module.startswith("cebra.")


def live_public_names(module: types.ModuleType) -> List[str]:
    """The JSON's ``public_name_rule`` applied to a live module."""
    if hasattr(module, "__all__"):
        return [name for name in module.__all__ if hasattr(module, name)]
    own = _source_level_names(module)
    return sorted(
        name for name, obj in vars(module).items()
        if not name.startswith("_") and not isinstance(obj, types.ModuleType)
        and (_is_cebra(obj) or name in own)
    )


def live_record(obj: Any) -> Dict[str, Any]:
    """Kind, parameters and (for classes) MRO of a live object, in the JSON's format."""
    record: Dict[str, Any] = {"kind": "class" if isinstance(obj, type) else "function"}
    if _is_cebra(obj):
        record["defined_in"] = obj.__module__
    try:
        parameters = [parameter_record(p) for p in inspect.signature(obj).parameters.values()]
    except (TypeError, ValueError):
        parameters = None
    record["init_parameters" if isinstance(obj, type) else "parameters"] = parameters
    if isinstance(obj, type):
        record["mro"] = [f"{c.__module__}.{c.__qualname__}" for c in obj.__mro__[1:]]
    return record


@pytest.fixture(scope="module")
def cebra_module():
    return pytest.importorskip("cebra")


def _xfail_expected(problems: Dict[Tuple[str, str, str], List[str]]) -> None:
    """Fail on unexpected problems, xfail if only listed ones remain.

    (A fixed KNOWN_GAP is flagged by the strict xfail of the recorded-API tests.)
    """
    unexpected = {k: v for k, v in problems.items() if k not in PENDING and k not in KNOWN_GAPS}
    assert unexpected == {}
    expected = sorted(k for k in problems if k in PENDING or k in KNOWN_GAPS)
    if expected:
        pytest.xfail("; ".join(f"{k}: {PENDING.get(k) or KNOWN_GAPS.get(k)}" for k in expected))


class TestAgainstInstalledCebra:
    """The same checks, with facts read from the installed ``cebra`` package."""

    @pytest.fixture(autouse=True)
    def _cebra(self, cebra_module):
        assert cebra_module.__version__ == "0.6.1", "these checks describe CEBRA 0.6.1"

    @pytest.mark.parametrize("module_name", sorted(API["modules"]))
    def test_recorded_api_matches_the_installed_package(self, module_name):
        module = importlib.import_module(module_name)
        assert live_public_names(module) == API["modules"][module_name]["public_names"]

    @pytest.mark.parametrize("module_name", sorted(API["modules"]) + sorted(API["packages"]))
    def test_module_is_compatible(self, module_name):
        module = importlib.import_module(module_name)
        problems: Dict[Tuple[str, str, str], List[str]] = {}
        for name in live_public_names(module):
            record = live_record(getattr(module, name))
            found = {"name": name_problems(module_name, name, record)}
            if not found["name"] and record.get("defined_in", module_name) == module_name:
                ours = getattr(importlib.import_module(our_module_name(module_name)), name)
                parameters = record.get("init_parameters", record.get("parameters"))
                if parameters is not None:
                    found["signature"] = signature_problems(ours, parameters)
                if record["kind"] == "class":
                    found["bases"] = base_problems(ours, record["mro"])
            problems.update({(check, module_name, name): p for check, p in found.items() if p})
        _xfail_expected(problems)

    def test_loaders_have_cebra_init_fields(self):
        base = importlib.import_module("cebra.data.base").Loader
        problems = {}
        loaders = 0
        for module_name in sorted(API["modules"]):
            module = importlib.import_module(module_name)
            for name in live_public_names(module):
                obj = getattr(module, name)
                if (isinstance(obj, type) and issubclass(obj, base) and dataclasses.is_dataclass(obj)
                        and obj.__module__ == module_name):
                    loaders += 1
                    cebra_fields = [
                        {"name": f.name, "init": f.init, "kw_only": bool(f.kw_only),
                         **({"default": repr(f.default)} if f.default is not dataclasses.MISSING else {})}
                        for f in dataclasses.fields(obj)
                    ]
                    ours = getattr(importlib.import_module(our_module_name(module_name)), name)
                    found = loader_field_problems(ours, cebra_fields)
                    if found:
                        problems[("loader", module_name, name)] = found
        assert loaders == len(API["loader_classes"])
        _xfail_expected(problems)

    # behaviour of the classes kept from CEBRA, compared with CEBRA's own

    def test_distance_matrices_match(self):
        from cebra.distributions.index import DistanceMatrix, OffsetDistanceMatrix

        from cebra_data.distributions.index import DistanceMatrix as OurDistanceMatrix
        from cebra_data.distributions.index import OffsetDistanceMatrix as OurOffsetDistanceMatrix

        g = torch.Generator().manual_seed(0)
        samples, queries = torch.randn(40, 3, generator=g), torch.randn(7, 3, generator=g)
        expected = DistanceMatrix(samples)(queries)
        assert torch.allclose(OurDistanceMatrix(samples)(queries), expected, atol=1e-5)
        for offset in (1, 3):
            expected = OffsetDistanceMatrix(samples, offset)(queries)
            got = OurOffsetDistanceMatrix(samples, offset)(queries)
            assert torch.equal(torch.isinf(got), torch.isinf(expected))
            finite = torch.isfinite(expected)
            assert torch.allclose(got[finite], expected[finite], atol=1e-5)

    def test_searches_match(self):
        from cebra.distributions.index import ContinuousIndex, MultiSessionIndex
        from cebra.distributions.mixed import Mixed

        import cebra_data.distributions as ours

        g = torch.Generator().manual_seed(1)
        sessions = [torch.randn(n, 2, generator=g) for n in (200, 150)]
        queries = torch.randn(50, 2, generator=g)
        expected = MultiSessionIndex(*(ContinuousIndex(s) for s in sessions)).search(queries)
        got = ours.MultiSessionIndex(*(ours.ContinuousIndex(s) for s in sessions)).search(queries)
        assert [r.tolist() for r in got] == [r.tolist() for r in expected]

        labels = torch.randint(0, 3, (200,), generator=g)
        query_labels = torch.randint(0, 3, (50,), generator=g)
        cebra_mixed = Mixed(labels, sessions[0])
        our_mixed = ours.Mixed(labels, sessions[0], seed=0)
        assert torch.equal(our_mixed.sample_conditional(query_labels, queries).cpu(),
                           cebra_mixed.sample_conditional(query_labels, queries).cpu())
        assert torch.equal(our_mixed.sample_conditional_continuous(queries).cpu(),
                           cebra_mixed.sample_conditional_continuous(queries).cpu())
        # label-conditional draws are random; both return time steps carrying the values
        assert torch.equal(labels[our_mixed.sample_conditional_discrete(query_labels)], query_labels)
        assert torch.equal(labels[cebra_mixed.sample_conditional_discrete(query_labels)], query_labels)

    def test_documented_cebra_defects(self):
        """What our docstrings say about CEBRA 0.6.1 is true of the installed package."""
        from cebra.distributions.continuous import DirectTimedeltaDistribution
        from cebra.distributions.mixed import ConfigurableDistribution

        with pytest.raises(AttributeError):
            DirectTimedeltaDistribution(torch.randn(20, 1), time_offset=1)
        assert ConfigurableDistribution().configure_prior("uniform") is None  # silently ignored
        assert ConfigurableDistribution().configure_conditional() is None
