"""docs/cli.rst shows what ``cebra-data demo`` prints: one real run of the default demo.

Everything the demo prints is compared with the example in the docs except
what depends on the machine: the batches/s column, the figure's path and the
total time. The run takes well under a minute on two cores.
"""

import contextlib
import io
import json
import pathlib
import re

import pytest

from cebra_data import cli

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "cli.rst"
PROMPT = "$ cebra-data demo"


def _docs_output():
    """The lines the docs show after ``$ cebra-data demo`` (the literal block, dedented)."""
    lines = DOCS.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == PROMPT]
    assert len(starts) == 1, f"expected one '{PROMPT}' example in {DOCS.name}, found {len(starts)}"
    start = starts[0]
    indent = len(lines[start]) - len(lines[start].lstrip())
    block = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            break  # the literal block ends at the first line indented less than the prompt
        block.append(line[indent:].rstrip())
    while block and not block[-1]:
        block.pop()
    return block


def _table(lines):
    """``{row name: [batches/s, final loss, decoding R2, consistency R2]}`` of the printed table."""
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["loader", "batches/s"])
    assert set(lines[header + 1]) == {"-"}, "the header should be followed by a rule"
    rows = {}
    for line in lines[header + 2:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == 5, f"a table row should have 5 cells: {line!r}"
        rows[cells[0]] = cells[1:]
    return header, rows


def _machine_independent(lines):
    """The lines with batches/s, the figure path and the total time replaced by ``*``."""
    header, rows = _table(lines)
    out = []
    for i, line in enumerate(lines):
        cells = re.split(r"\s{2,}", line.strip())
        if header + 2 <= i < header + 2 + len(rows):
            line = "  ".join([cells[0], "*", "*", "*", "*"])  # figures: compared within their spread
        elif i == header:
            line = "  ".join(cells)
        elif line.startswith("Figure written to "):
            line = "Figure written to *"
        elif line.startswith("Total time: "):
            assert re.fullmatch(r"Total time: \d+\.\d s", line), line
            line = "Total time: *"
        out.append(line)
    return out


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """What ``cebra-data demo`` (all defaults) prints on stdout, as lines."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(["demo", "--quiet", "--out", str(tmp_path_factory.mktemp("demo"))])
    assert status == 0
    return stdout.getvalue().rstrip("\n").splitlines()


def test_docs_example_parses_into_the_seven_rows():
    _, rows = _table(_docs_output())
    assert list(rows) == [
        "time contrastive",
        "time_delta (position)",
        "time_delta (shuffled position)",
        "discrete (direction)",
        "mixed (position + direction)",
        "multi-session (position)",
        "multi-session (shuffled position)",
    ]
    for name, (rate, loss, decoding, consistency) in rows.items():
        assert float(rate) > 0 and float(loss) > 0 and -1 <= float(decoding) <= 1
        assert (consistency != "-") == name.startswith("multi-session")


SPREAD = json.loads((pathlib.Path(__file__).parent / "data" / "demo_spread.json").read_text())["spread"]
COLUMNS = ("final loss", "decoding R2", "consistency R2")
#: Added to both ends of a measured range: the table prints three decimals.
MARGIN = 0.01


@pytest.mark.slow
def test_docs_table_matches_the_default_demo_within_the_measured_spread(printed):
    """Row names exactly; each figure within the range measured over CPU kernels, threads and seeds.

    Trained numbers differ between CPUs (other kernels, other thread splits),
    so the figures are compared with the ranges of benchmarks/demo_spread.py,
    which docs/cli.rst shows, and never exactly.
    """
    _, documented = _table(_docs_output())
    _, actual = _table(printed)
    assert list(documented) == list(actual)
    for name in actual:
        for column, shown, value in zip(COLUMNS, documented[name][1:], actual[name][1:]):
            if column not in SPREAD[name]:
                assert shown == value == "-", (name, column)
                continue
            low, high = SPREAD[name][column]
            for figure in (float(shown), float(value)):
                assert low - MARGIN <= figure <= high + MARGIN, (name, column, figure, (low, high))


def test_docs_show_the_measured_spread():
    """The spread table of docs/cli.rst is the one the test uses."""
    text = DOCS.read_text()
    for name, columns in SPREAD.items():
        line = next(line for line in text.splitlines() if line.startswith(f"``{name}``") and " -- " in line)
        for low, high in columns.values():
            assert f"{low:.3f} -- {high:.3f}" in line, (name, line)


@pytest.mark.slow
def test_docs_show_everything_else_the_demo_prints(printed):
    """The description, the notes and the figure and time lines, up to the machine's numbers."""
    assert _machine_independent(_docs_output()) == _machine_independent(printed)
