"""Exercise checks in the style people know from learning platforms: ``ex.q1.check()``.

A chapter defines its exercises once (``workshop/checks/chNN.py``) and the notebook does::

    from workshop.checks import ch03 as ex
    q1 = ...            # the participant's answer goes here
    ex.q1.check()       # -> Correct / Incorrect: <what is wrong> / Not attempted
    ex.q1.hint()
    ex.q1.solution()

A check reads the participant's answer from the notebook's namespace (the variable named by the
exercise), so a participant never has to pass it in; ``...`` means "not attempted yet". Checks test
behaviour, not text: a query is evaluated and its result compared, an instrumented service is
scraped, an alert is replayed on the virtual clock. Whatever goes wrong while checking (the
participant's own code raising, a bad query) becomes an "Incorrect" with the reason, never a
traceback, and never stops a notebook that is run top to bottom.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CORRECT, INCORRECT, NOT_ATTEMPTED = "correct", "incorrect", "not attempted"
_ICONS = {CORRECT: "✅", INCORRECT: "❌", NOT_ATTEMPTED: "⏳"}
_COLOURS = {CORRECT: "#1b7a3a", INCORRECT: "#b42318", NOT_ATTEMPTED: "#6b7280"}


class Incorrect(Exception):  # noqa: N818 - reads as the verdict it is: raise Incorrect("...")
    """Raised by a check function to say what is wrong with the answer, concretely."""


@dataclass(frozen=True)
class Result:
    exercise: str
    status: str
    message: str = ""

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        head = f"{_ICONS[self.status]} {self.exercise}: {self.status.capitalize()}"
        return f"{head}. {self.message}" if self.message else head

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = _COLOURS[self.status]
        msg = f"<br>{html.escape(self.message)}" if self.message else ""
        return (
            f'<div style="border-left:4px solid {colour};padding:4px 8px">'
            f"<b>{_ICONS[self.status]} {html.escape(self.exercise)}: "
            f"{self.status.capitalize()}</b>{msg}</div>"
        )


class Exercise:
    """One question: where its answer lives, how to check it, a hint and the solution."""

    def __init__(
        self,
        name: str,
        check: Callable[[Any], str | None],
        *,
        variable: str | None = None,
        hint: str = "",
        solution: str = "",
    ):
        self.name = name
        self.variable = variable or name
        self._check = check
        self._hint = hint
        self._solution = solution

    def check(self, answer: Any = inspect.Parameter.empty) -> Result:
        """Check the answer (default: the notebook variable named after the exercise)."""
        if answer is inspect.Parameter.empty:
            answer = _lookup(self.variable)
        if answer is ... or answer is inspect.Parameter.empty or answer is None:
            return Result(
                self.name, NOT_ATTEMPTED, f"Replace the `...` of `{self.variable}` with your answer."
            )
        try:
            message = self._check(answer)
        except Incorrect as e:
            return Result(self.name, INCORRECT, str(e))
        except Exception as e:  # the participant's code or query failed: say so, no traceback
            return Result(self.name, INCORRECT, f"{type(e).__name__}: {e}")
        return Result(self.name, CORRECT, message or "")

    def hint(self) -> Hint:
        return Hint(f"Hint for {self.name}", self._hint or "No hint for this one: you've got this.")

    def solution(self) -> Hint:
        return Hint(f"Solution for {self.name}", self._solution, code=True)


@dataclass(frozen=True)
class Hint:
    title: str
    text: str
    code: bool = False

    def __str__(self) -> str:
        return f"{self.title}:\n{self.text}"

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        body = f"```python\n{self.text}\n```" if self.code else self.text
        return f"**{self.title}**\n\n{body}"


def _lookup(variable: str) -> Any:
    """The participant's variable: from the IPython namespace, else from the calling module."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        shell = None
    if shell is not None and variable in shell.user_ns:
        return shell.user_ns[variable]
    frame = inspect.currentframe()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("workshop.exercises") and variable in frame.f_globals:
            return frame.f_globals[variable]
        frame = frame.f_back
    return inspect.Parameter.empty
