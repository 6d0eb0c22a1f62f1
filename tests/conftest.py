"""Fixtures shared by every test package; plain helpers live in tests/support.py."""

from __future__ import annotations

import pytest

from tests.support import free_port


@pytest.fixture
def port() -> int:
    return free_port()
