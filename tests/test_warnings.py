"""Every warning the package raises has a cebra_data category that docs/warnings.rst names."""

import ast
import pathlib

import cebra_data.errors as errors

PACKAGE = pathlib.Path(errors.__file__).resolve().parent
DOCS = PACKAGE.parent / "docs" / "warnings.rst"


def _warn_calls():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "warn" and getattr(node.func.value, "id", "") == "warnings"):
                category = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "category"), None)
                yield f"{path.relative_to(PACKAGE)}:{node.lineno}", category


def test_every_warning_has_a_documented_cebra_data_category():
    calls = list(_warn_calls())
    assert len(calls) >= 10
    docs = DOCS.read_text()
    bad = []
    for where, category in calls:
        name = getattr(category, "id", None)
        klass = getattr(errors, name, None) if name else None
        if not (isinstance(klass, type) and issubclass(klass, errors.CebraDataWarning)):
            bad.append(f"{where}: category {ast.unparse(category) if category else None}")
        elif f"errors.{name}" not in docs:
            bad.append(f"{where}: {name} is not in docs/warnings.rst")
    assert not bad, bad
