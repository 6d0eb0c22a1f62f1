"""The chapter sources generate the participant and solution notebooks, and none is stale."""

from workshop import notebooks
from workshop.notebooks import build_notebook, parse_source, participant_source, solution_source

SOURCE = '''"""header ignored"""
# %% [markdown]
# # Title
# Some *text*.

# %%
import math

# %% tags=["nbval-ignore-output"]
q1 = "rate(x[5m])"  # SOLUTION
ex.q1.check()

# %%
def f():
    # BEGIN SOLUTION
    return 42
    # END SOLUTION
'''


def test_percent_source_splits_into_cells_with_tags():
    cells = parse_source(SOURCE)
    assert [c["type"] for c in cells] == ["markdown", "code", "code", "code"]
    assert cells[0]["source"] == "# Title\nSome *text*."
    assert cells[2]["tags"] == ["nbval-ignore-output"]


def test_solutions_become_stubs_in_the_participant_version():
    assert participant_source('q1 = "rate(x[5m])"  # SOLUTION') == "q1 = ...  # YOUR CODE HERE"
    code = "def f():\n    # BEGIN SOLUTION\n    return 42\n    # END SOLUTION"
    assert participant_source(code) == "def f():\n    # YOUR CODE HERE"
    assert solution_source(code) == "def f():\n    return 42"
    assert solution_source('q1 = "a"  # SOLUTION') == 'q1 = "a"'


def test_participant_cells_are_checked_for_running_not_for_output():
    nb = build_notebook(parse_source(SOURCE), participant=True)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all("nbval-ignore-output" in c.metadata["tags"] for c in code)
    solution = build_notebook(parse_source(SOURCE), participant=False)
    assert "tags" not in solution.cells[1].metadata


def test_committed_notebooks_are_up_to_date():
    assert notebooks.stale() == [], "run `workshop notebooks build` and commit the result"
