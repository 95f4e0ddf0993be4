"""Fixtures shared by the self-tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scratch import copy_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch copy of the project (see tests/scratch.py)."""
    return copy_project(tmp_path)
