from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def test_layers(tmp_path: Path) -> Path:
    """A writable copy of tests/data/layers."""
    dest = tmp_path / "layers"
    shutil.copytree(DATA / "layers", dest)
    return dest
