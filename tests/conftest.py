"""Shared test fixtures: every test runs with a clean ASSEMBLA_* environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop the developer's ASSEMBLA_* variables and point the credentials file into tmp."""
    for key in list(os.environ):
        if key.startswith("ASSEMBLA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSEMBLA_MIRROR_CONFIG", str(tmp_path / "config" / "credentials.json"))
