"""A newcomer's run of the core path, and a run of the notebooks exactly as participants get them.

The participant notebooks of chapters 0-3, 6 and 7 are executed top to bottom in a fresh kernel
(nbclient), as someone who has just opened them would. With the solutions pasted into the stub cells
(taken from the chapter source, not from the solution notebook), every exercise's check must say
Correct; as shipped, every check must say "not attempted" and no cell may raise.
"""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest
from nbclient import NotebookClient

from workshop.exercises import Exercise
from workshop.notebooks import NOTEBOOKS, chapters, parse_source, solution_source, targets

pytestmark = pytest.mark.slow

CORE_PATH = ("00", "01", "02", "03", "06", "07")
KERNEL_TIMEOUT = 300  # seconds per cell
VERDICT_RE = re.compile(r"^(?:✅|❌|⏳) (?P<name>\w+): (?P<status>Correct|Incorrect|Not attempted)\b")


def chapter(prefix: str):
    (src,) = [c for c in chapters() if c.stem.startswith(prefix + "-")]
    return src


def exercises_of(prefix: str) -> set[str]:
    module = importlib.import_module(f"workshop.checks.ch{prefix}")
    return {name for name, value in vars(module).items() if isinstance(value, Exercise)}


def participant_notebook(src, paste_solutions: bool) -> nbformat.NotebookNode:
    nb = nbformat.read(targets(src)[0], as_version=4)
    if paste_solutions:
        source_cells = [c for c in parse_source(src.read_text(encoding="utf-8")) if c["type"] == "code"]
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        assert len(source_cells) == len(code_cells), f"{src.name}: participant notebook is stale"
        for cell, source in zip(code_cells, source_cells, strict=True):
            cell.source = solution_source(source["source"])  # the stubs get the source's solution back
    return nb


def run(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Execute ``nb``; return {exercise: verdict} of every ``ex.qN.check()`` cell (raises on errors)."""
    NotebookClient(nb, timeout=KERNEL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()  # fmt: skip
    verdicts: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not re.search(r"\bex\.q\d+\.check\(\)", cell.source):
            continue
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        texts = [o.get("data", {}).get("text/plain", "") for o in results]
        assert texts, f"check cell printed no verdict:\n{cell.source}"
        m = VERDICT_RE.match(texts[-1])
        assert m, f"not a verdict: {texts[-1]!r}"
        verdicts[m["name"]] = texts[-1] if m["status"] != "Correct" else "Correct"
    return verdicts


@pytest.mark.parametrize("prefix", CORE_PATH)
def test_newcomer_pasting_the_solutions_passes_every_check(prefix):
    src = chapter(prefix)
    verdicts = run(participant_notebook(src, paste_solutions=True))
    assert set(verdicts) == exercises_of(prefix), "every exercise of the chapter has a check cell"
    assert verdicts == dict.fromkeys(verdicts, "Correct")


@pytest.mark.parametrize("prefix", CORE_PATH)
def test_participant_notebook_as_shipped_reports_not_attempted_and_raises_nothing(prefix):
    verdicts = run(participant_notebook(chapter(prefix), paste_solutions=False))
    assert set(verdicts) == exercises_of(prefix)
    assert all(" Not attempted" in v for v in verdicts.values()), verdicts
