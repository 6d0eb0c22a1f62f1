"""Build the chapter notebooks from one source per chapter: ``workshop notebooks build|check``.

Each chapter is written once, as a plain-text source in ``notebooks/src/NN-name.py`` (the "percent"
format Jupyter tools know: ``# %%`` starts a code cell, ``# %% [markdown]`` a text cell), with the
solutions in place. Two notebooks are generated from it:

* ``notebooks/NN-name.ipynb`` — what participants open: every solution replaced by a stub;
* ``notebooks/solutions/NN-name.ipynb`` — the full solution, executed, outputs stored, so that
  nbval can check in CI that re-running it still gives the same outputs.

Why generate instead of keeping two notebooks by hand: the participant and solution versions can
never drift apart, and a reviewer reads one diff-friendly text file. ``check`` (also run by the
tests) fails when a committed notebook is stale.

Marking solutions in a source:

* a line ending in ``# SOLUTION`` that assigns (``q1 = "rate(x[5m])"  # SOLUTION``) becomes
  ``q1 = ...  # YOUR CODE HERE`` — the exercise check sees ``...`` and says "not attempted";
* a block between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` becomes ``# YOUR CODE HERE``;
* a cell tagged ``nbval-ignore-output`` (``# %% tags=["nbval-ignore-output"]``, with the reason in
  a comment: plots, widgets, wall-clock values) keeps nbval from comparing its output.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
SOLUTIONS = NOTEBOOKS / "solutions"

_CELL_RE = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=(?P<tags>\[.*\]))?\s*$")
_ASSIGN_SOLUTION_RE = re.compile(r"^(?P<indent>\s*)(?P<target>[\w.\[\]'\", ]+?)\s*=\s*.+?#\s*SOLUTION\s*$")
STUB = "# YOUR CODE HERE"
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}


def parse_source(text: str) -> list[dict]:
    """Split a percent-format source into cells: ``{"type", "source", "tags"}``."""
    cells: list[dict] = []
    current: dict | None = None
    for line in text.splitlines():
        m = _CELL_RE.match(line)
        if m:
            current = {
                "type": "markdown" if m.group("md") else "code",
                "lines": [],
                "tags": json.loads(m.group("tags")) if m.group("tags") else [],
            }
            cells.append(current)
            continue
        if current is None:  # a header before the first cell marker (module docstring, comments)
            continue
        current["lines"].append(line)
    out = []
    for cell in cells:
        lines = _strip_blank_edges(cell["lines"])
        if cell["type"] == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln[1:] if ln.startswith("#") else ln for ln in lines]
        out.append({"type": cell["type"], "source": "\n".join(lines), "tags": cell["tags"]})
    return out


def participant_source(code: str) -> str:
    """Replace the solutions in one code cell by stubs."""
    out: list[str] = []
    in_block = False
    for line in code.splitlines():
        stripped = line.strip()
        if stripped == "# BEGIN SOLUTION":
            in_block = True
            out.append(line[: len(line) - len(line.lstrip())] + STUB)
            continue
        if stripped == "# END SOLUTION":
            in_block = False
            continue
        if in_block:
            continue
        m = _ASSIGN_SOLUTION_RE.match(line)
        if m:
            out.append(f"{m.group('indent')}{m.group('target')} = ...  {STUB}")
            continue
        out.append(line)
    if in_block:
        raise ValueError("# BEGIN SOLUTION without # END SOLUTION")
    return "\n".join(out)


def solution_source(code: str) -> str:
    """The solution as participants will see it in the solutions notebook (markers removed)."""
    lines = [ln for ln in code.splitlines() if ln.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION")]
    return "\n".join(re.sub(r"\s*#\s*SOLUTION\s*$", "", ln) for ln in lines)


def build_notebook(cells: list[dict], participant: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        tags = list(cell["tags"])
        if cell["type"] == "markdown":
            nb.cells.append(
                nbformat.v4.new_markdown_cell(cell["source"], metadata={"tags": tags} if tags else {})
            )
            continue
        source = participant_source(cell["source"]) if participant else solution_source(cell["source"])
        if participant and "nbval-ignore-output" not in tags:
            # Participants' runs are checked for running to the end, not for identical output.
            tags.append("nbval-ignore-output")
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {}))
    for i, cell in enumerate(nb.cells):  # stable ids keep regenerated files byte-identical
        cell["id"] = f"cell-{i:03d}"
    return nb


def chapters() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]-*.py"))


def targets(src: Path) -> tuple[Path, Path]:
    return NOTEBOOKS / f"{src.stem}.ipynb", SOLUTIONS / f"{src.stem}.ipynb"


def build(execute: bool = True, only: list[str] | None = None, timeout: int = 300) -> list[Path]:
    """Write both notebooks of every chapter; execute the solution version to store its outputs."""
    written = []
    SOLUTIONS.mkdir(parents=True, exist_ok=True)
    for src in chapters():
        if only and not any(src.stem.startswith(o) for o in only):
            continue
        cells = parse_source(src.read_text(encoding="utf-8"))
        participant_path, solution_path = targets(src)
        nbformat.write(build_notebook(cells, participant=True), participant_path)
        solution = build_notebook(cells, participant=False)
        if execute:
            from nbclient import NotebookClient

            NotebookClient(
                solution,
                timeout=timeout,
                kernel_name="python3",
                resources={"metadata": {"path": str(SOLUTIONS)}},
            ).execute()
            for cell in solution.cells:
                cell.get("metadata", {}).pop("execution", None)
        nbformat.write(solution, solution_path)
        written += [participant_path, solution_path]
    return written


def stale() -> list[str]:
    """Chapters whose committed notebooks do not match their source (cell types, sources, tags)."""
    problems = []
    for src in chapters():
        cells = parse_source(src.read_text(encoding="utf-8"))
        for path, participant in zip(targets(src), (True, False), strict=True):
            if not path.exists():
                problems.append(f"{path.relative_to(ROOT)} is missing")
                continue
            expected = _shape(build_notebook(cells, participant))
            actual = _shape(nbformat.read(path, as_version=4))
            if expected != actual:
                problems.append(f"{path.relative_to(ROOT)} is stale (source: {src.relative_to(ROOT)})")
    return problems


def _shape(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def _strip_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workshop notebooks", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="generate the participant and solution notebooks")
    b.add_argument("chapters", nargs="*", help="chapter number prefixes (default: all)")
    b.add_argument("--no-execute", action="store_true", help="do not run the solutions to store outputs")
    sub.add_parser("check", help="fail if a committed notebook is stale")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        for path in build(execute=not args.no_execute, only=args.chapters or None):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    problems = stale()
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("run `workshop notebooks build` and commit the result", file=sys.stderr)
        return 1
    print(f"{len(chapters())} chapters up to date")
    return 0
