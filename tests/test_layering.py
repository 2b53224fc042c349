"""The package's layers, checked from the source (imports inside functions included).

Each module belongs to one layer; a module imports only from its own layer or
below, never in a cycle, and never a private name of another module (underscore
helper modules such as ``_validation`` excepted). ``docs/architecture.rst``
shows the same table.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
from typing import Dict, List, Optional, Set, Tuple

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "cebra_data"

#: Module (or package prefix) -> layer. The longest matching prefix wins.
LAYERS: Dict[str, float] = {
    "cebra_data.errors": 0,
    "cebra_data._validation": 0,
    "cebra_data.datatypes": 0,
    "cebra_data.device": 0,
    "cebra_data.seeding": 0,
    "cebra_data.file_backed": 0,
    "cebra_data.io": 0.5,  # file readers: L0 and io only
    "cebra_data.distributions": 1,
    "cebra_data.masking": 1,
    "cebra_data.trials": 1,
    "cebra_data.align": 1,  # label arithmetic: behaviour resampled on the neural clock
    "cebra_data.base": 2,
    "cebra_data.summary": 2,
    "cebra_data.single_session": 3,
    "cebra_data.multi_session": 3,
    "cebra_data.datasets": 3,
    "cebra_data.neurons": 3,
    "cebra_data.missing": 3,
    "cebra_data.multiobjective": 3,
    "cebra_data.file_datasets": 3,  # HDF5Dataset: neural data read from the file
    "cebra_data.nwb_dataset": 3,  # TensorDataset.from_nwb: io.nwb + align
    "cebra_data.preprocessing": 4,
    "cebra_data.sklearn": 5,
    "cebra_data.helper": 5,
    "cebra_data.load": 5,
    "cebra_data.assets": 5,
    "cebra_data.patch": 5,  # patch_cebra: CEBRA's own code on our modules (imports cebra never)
    "cebra_data.cli": 6,  # the command line runs the demo
    "cebra_data.__main__": 6,
    "cebra_data.demo": 6,  # the demo sits above everything and uses public names only
    "cebra_data": 5,  # the package namespace re-exports the public API
}

#: Imports inside functions allowed outside the command line (lazy optional dependencies only).
MAX_FUNCTION_LEVEL_IMPORTS = 3
MAX_CLASS_LINES = 400


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> float:
    best: Optional[str] = None
    for prefix in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best):
                best = prefix
    if best is None:
        raise KeyError(f"{module} has no layer: add it to LAYERS in tests/test_layering.py")
    return LAYERS[best]


class Import:
    """One imported module (and the names taken from it) at one place of the source."""

    def __init__(self, source: str, target: str, names: List[str], line: int, in_function: bool):
        self.source, self.target, self.names = source, target, names
        self.line, self.in_function = line, in_function


def imports_of(path: pathlib.Path, modules: Set[str]) -> List[Import]:
    """Every import of a package module in ``path``, resolved to the module it names."""
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    in_function: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(sub) for sub in ast.walk(node) if sub is not node)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    found.append(Import(source, alias.name, [], node.lineno, id(node) in in_function))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in modules:
                continue
            names = []
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:  # a submodule
                    found.append(Import(source, f"{target}.{alias.name}", [], node.lineno, id(node) in in_function))
                else:
                    names.append(alias.name)
            if names:
                found.append(Import(source, target, names, node.lineno, id(node) in in_function))
    return [i for i in found if i.target != source]


def collect() -> Tuple[Set[str], List[Import]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return modules, [i for p in paths for i in imports_of(p, modules)]


def find_cycle(edges: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One import cycle of the graph ``edges`` (module -> imported modules), or ``None``."""
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(node: str) -> Optional[List[str]]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def graph(imports: List[Import]) -> Dict[str, Set[str]]:
    edges: Dict[str, Set[str]] = {}
    for imp in imports:
        # importing a submodule runs its package's __init__ first, but that is not
        # an edge of the source: packages re-export, modules depend
        edges.setdefault(imp.source, set()).add(imp.target)
    return edges


MODULES, IMPORTS = collect()


def test_every_module_has_a_layer():
    for module in sorted(MODULES):
        layer_of(module)


def test_no_import_cycle():
    # the package namespace (cebra_data/__init__) re-exports everything and is imported
    # by nothing inside the package except through `import cebra_data` at the top (demo)
    cycle = find_cycle(graph(IMPORTS))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_go_down_the_layers():
    upward = [
        f"{i.source} (L{layer_of(i.source)}) imports {i.target} (L{layer_of(i.target)}) at line {i.line}"
        for i in IMPORTS
        if layer_of(i.target) > layer_of(i.source)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_io_imports_only_the_lowest_layer():
    bad = [
        f"{i.source} imports {i.target}"
        for i in IMPORTS
        if i.source.startswith("cebra_data.io") and layer_of(i.target) > 0.5
    ]
    assert not bad, bad


def test_demo_uses_public_names_only():
    bad = [
        f"{i.source} imports {i.target}: {i.names}"
        for i in IMPORTS
        if i.source.startswith("cebra_data.demo")
        and not i.target.startswith("cebra_data.demo")
        and (any(part.startswith("_") for part in i.target.split(".")) or any(n.startswith("_") for n in i.names))
    ]
    assert not bad, bad


def test_no_private_name_imported_from_another_module():
    bad = []
    for imp in IMPORTS:
        helper_module = imp.target.rsplit(".", 1)[-1].startswith("_")
        for name in imp.names:
            if name.startswith("_") and not helper_module:
                bad.append(f"{imp.source} line {imp.line}: {name} from {imp.target}")
    assert not bad, bad


def test_few_imports_inside_functions():
    inner = [
        f"{i.source} line {i.line}: {i.target}"
        for i in IMPORTS
        if i.in_function and not i.source.startswith("cebra_data.cli")
    ]
    assert len(inner) <= MAX_FUNCTION_LEVEL_IMPORTS, inner


def test_no_class_over_the_size_limit():
    big = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    big.append(f"{module_name(path)}.{node.name}: {lines} lines")
    assert not big, big


def test_no_module_imports_cebra():
    """CEBRA is imported by the user only: the patch answers its imports, it never makes one."""
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            bad += [f"{module_name(path)} line {node.lineno}: {n}" for n in names
                    if n == "cebra" or n.startswith("cebra.")]
    assert not bad, bad


def test_importing_and_patching_does_not_import_cebra():
    code = (
        "import pkgutil, importlib, sys, cebra_data\n"
        "for info in pkgutil.walk_packages(cebra_data.__path__, 'cebra_data.'):\n"
        "    if info.name != 'cebra_data.__main__' and not info.name.endswith('.__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'cebra'], 'imported'\n"
        "cebra_data.patch_cebra()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'cebra'], 'patched'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_the_patch_answers_for_cebra_with_modules_of_its_layer_or_below():
    from cebra_data.patch.hook import ALIASES

    assert set(ALIASES.values()) <= MODULES
    assert all(layer_of(target) <= layer_of("cebra_data.patch") for target in ALIASES.values())


# -- the checker itself ---------------------------------------------------------------


def test_checker_finds_a_deliberate_cycle(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from pkg import a\n    return a\n")
    modules = {"pkg", "pkg.a", "pkg.b"}
    imports = []
    for name in ("a", "b"):
        path = package / f"{name}.py"
        # module_name is relative to cebra_data's parent; rebuild it for the temporary package
        source = f"pkg.{name}"
        for imp in _imports_relative(path, source, modules):
            imports.append(imp)
    cycle = find_cycle(graph(imports))
    assert cycle is not None and set(cycle) == {"pkg.a", "pkg.b"}
    assert any(i.in_function for i in imports)


def _imports_relative(path: pathlib.Path, source: str, modules: Set[str]) -> List[Import]:
    tree = ast.parse(path.read_text())
    inner = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for sub in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = node.module
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.append(Import(source, full if full in modules else target, [], node.lineno, id(node) in inner))
    return out


@pytest.mark.parametrize("source, target, allowed", [
    ("cebra_data.base", "cebra_data.distributions.registry", True),
    ("cebra_data.distributions.base", "cebra_data.base", False),
    ("cebra_data.io.load", "cebra_data.datasets", False),
    ("cebra_data.datasets", "cebra_data.io.registry", True),
])
def test_layer_rule_examples(source, target, allowed):
    assert (layer_of(target) <= layer_of(source)) == allowed
