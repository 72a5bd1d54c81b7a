"""`download-files`: which workers fetch MuseTalk's weights."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from livekit.agents import Plugin
from livekit.plugins import musetalk

from livekit.plugins.musetalk import MuseTalkPlugin
from livekit.plugins.musetalk.engines.musetalk import download

find_spec = importlib.util.find_spec


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    monkeypatch.setattr(download, "download_models", lambda *a, **k: calls.append("musetalk"))
    yield calls
    musetalk.register_download()


def plugin() -> MuseTalkPlugin:
    [found] = [p for p in Plugin.registered_plugins if isinstance(p, MuseTalkPlugin)]
    return found


def test_a_worker_that_can_run_musetalk_fetches_its_weights(fetched: list[str]) -> None:
    plugin().download_files()
    assert fetched == ["musetalk"]


def test_a_cpu_engine_worker_fetches_nothing(fetched: list[str]) -> None:
    musetalk.register_download("cpu")
    plugin().download_files()
    assert fetched == []


def test_the_demo_profile_without_torch_fetches_nothing(fetched: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    plugin().download_files()
    assert fetched == []
