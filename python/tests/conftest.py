import os
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("SYNMARKET_ROOT", Path(__file__).resolve().parents[2]))


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def cli() -> str:
    path = os.environ.get("SYNMARKET_CLI")
    if not path:
        pytest.fail("SYNMARKET_CLI is not set: run the suite through `cargo test --workspace`")
    return path
