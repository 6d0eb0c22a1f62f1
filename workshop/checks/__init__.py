"""The exercises of each chapter, one module per notebook: ``from workshop.checks import ch03 as ex``.

Every module defines its questions as :class:`workshop.exercises.Exercise` objects named ``q1``,
``q2`` ... so that a notebook says ``ex.q1.check()``, ``ex.q1.hint()`` and ``ex.q1.solution()``.
What the checks share -- the seeded simulation every PromQL answer is evaluated on, and the
comparison of a participant's result with the reference one -- lives in :mod:`._common`.
"""

from workshop.checks._common import SEED, compare_queries, shared_simulation

__all__ = ["SEED", "compare_queries", "shared_simulation"]
