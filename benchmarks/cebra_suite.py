"""Run CEBRA 0.6.1's own test suite plain and under ``cebra_data.patch_cebra()``, and compare.

CEBRA's tests are not in its wheel; they are in its git repository at tag ``v0.6.1``.
Given a folder holding them (``tests/``, with ``conftest.py`` and ``pyproject.toml`` of
the same tag beside it), e.g. made with::

    git --git-dir=CEBRA.git archive v0.6.1 tests conftest.py pyproject.toml | tar -x -C /tmp/cebra

run::

    python benchmarks/cebra_suite.py run plain   /tmp/cebra /tmp/plain [PYTEST_ARGS...]
    python benchmarks/cebra_suite.py run patched /tmp/cebra /tmp/patched [PYTEST_ARGS...]
    python benchmarks/cebra_suite.py compare /tmp/plain /tmp/patched

(``--runfast``, CEBRA's own option, runs its fast parameters instead of its slow ones.)

``run`` calls pytest in that folder as CEBRA's Makefile does (``-m "not requires_dataset"``),
plainly or as ``python -m cebra_data.patch -m pytest``, and writes the outcome of every test
(``junit.xml``) and the warnings each test gave (``warnings.json``, recorded by this file
loaded as a pytest plugin) to the output folder. ``compare`` prints the counts of each run
and every test whose outcome differs, then every warning the patched run gave that the plain
run did not give for the same test. No code of CEBRA is copied here.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from typing import Dict, List

#: Where the plugin writes the warnings (set by ``run`` for the child pytest).
WARNINGS_FILE = "CEBRA_SUITE_WARNINGS"

_recorded: Dict[str, List[str]] = collections.defaultdict(list)


def _normalise(message: str) -> str:
    """A warning's text without what changes from run to run (addresses, temporary paths)."""
    message = re.sub(r"0x[0-9a-f]+", "0x…", message)
    return re.sub(r"/tmp/[^\s'\"]+", "/tmp/…", message)


def pytest_warning_recorded(warning_message, when, nodeid, location):  # pytest hook
    text = f"{warning_message.category.__name__}: {_normalise(str(warning_message.message))}"
    _recorded[nodeid or f"<{when}>"].append(text)


def pytest_sessionfinish(session, exitstatus):  # pytest hook
    path = os.environ.get(WARNINGS_FILE)
    if path:
        pathlib.Path(path).write_text(json.dumps(_recorded, indent=1, sort_keys=True))


def run(mode: str, suite: pathlib.Path, out: pathlib.Path, extra: List[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    prefix = ["-m", "cebra_data.patch"] if mode == "patched" else []
    command = [sys.executable, *prefix, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
               "-p", "cebra_suite", "-m", "not requires_dataset", "--continue-on-collection-errors",
               f"--junitxml={out / 'junit.xml'}", *extra]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(pathlib.Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]),
        **{WARNINGS_FILE: str(out / "warnings.json")})
    with open(out / "pytest.log", "w") as log:
        return subprocess.run(command, cwd=suite, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def outcomes(junit: pathlib.Path) -> Dict[str, str]:
    """``{test id: passed | failed | error | skipped}`` from a JUnit XML report."""
    result = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        result[name] = ("failed" if "failure" in kinds else "error" if "error" in kinds
                        else "skipped" if "skipped" in kinds else "passed")
    return result


def compare(plain_dir: pathlib.Path, patched_dir: pathlib.Path) -> None:
    plain, patched = outcomes(plain_dir / "junit.xml"), outcomes(patched_dir / "junit.xml")
    for label, result in (("plain", plain), ("patched", patched)):
        counts = collections.Counter(result.values())
        print(f"{label}: {len(result)} tests, " + ", ".join(f"{counts[k]} {k}" for k in
                                                             ("passed", "failed", "error", "skipped")))
    differ = sorted(name for name in plain.keys() | patched.keys()
                    if plain.get(name) != patched.get(name))
    print(f"\n{len(differ)} tests with another outcome (plain -> patched):")
    for name in differ:
        print(f"  {name}: {plain.get(name, 'absent')} -> {patched.get(name, 'absent')}")
    plain_w = json.loads((plain_dir / "warnings.json").read_text())
    patched_w = json.loads((patched_dir / "warnings.json").read_text())
    extra = collections.Counter()
    for nodeid, messages in patched_w.items():
        for message in set(messages) - set(plain_w.get(nodeid, [])):
            extra[message] += 1
    print(f"\n{sum(extra.values())} warnings (test, message) under the patch that plain CEBRA "
          "does not give:")
    for message, count in extra.most_common():
        print(f"  {count} tests: {message[:300]}")


def main(argv: List[str]) -> int:
    if len(argv) >= 4 and argv[0] == "run" and argv[1] in ("plain", "patched"):
        return run(argv[1], pathlib.Path(argv[2]).resolve(), pathlib.Path(argv[3]).resolve(), argv[4:])
    if len(argv) == 3 and argv[0] == "compare":
        compare(pathlib.Path(argv[1]), pathlib.Path(argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
