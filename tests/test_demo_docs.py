"""docs/cli.rst shows what ``cebra-data demo`` prints: one real run of the default demo.

Everything the demo prints is compared with the example in the docs except
what depends on the machine: the batches/s column, the figure's path and the
total time. The run takes well under a minute on two cores.
"""

import contextlib
import io
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
            line = "  ".join([cells[0], "*", *cells[2:]])
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


@pytest.mark.slow
def test_docs_table_equals_the_default_demo(printed):
    """Row names, final loss, decoding R2 and consistency R2 as the demo prints them."""
    _, documented = _table(_docs_output())
    _, actual = _table(printed)
    assert list(documented) == list(actual)
    for name in actual:
        assert documented[name][1:] == actual[name][1:], name


@pytest.mark.slow
def test_docs_show_everything_else_the_demo_prints(printed):
    """The description, the notes and the figure and time lines, up to the machine's numbers."""
    assert _machine_independent(_docs_output()) == _machine_independent(printed)
