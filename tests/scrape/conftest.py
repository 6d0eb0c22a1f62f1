"""Fixtures shared by the scrape tests."""

import pytest

from tests.scrape.helpers import Sim


@pytest.fixture
def sims():
    r"""Make ``Sim``\ s (a scrape manager on a virtual clock); all are closed after the test."""
    made = []

    def make(*args, **kwargs):
        s = Sim(*args, **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
