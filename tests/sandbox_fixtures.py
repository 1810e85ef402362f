"""Fixtures the sandbox and portal suites share: no faults or role from the environment,
and a fresh sandbox file holding the demo live state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.faults import FAULTS_ENV


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox file holding the demo live state."""
    box = Sandbox(tmp_path / ".reconciler" / "sandbox.db")
    yield box
    box.close()
