"""The worker's Whisper model: loaded once per process from disk, never downloaded by a job;
`download-files` fetches the configured model."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
from livekit.agents import Plugin
from livekit.plugins import faster_whisper

from agent.whisper_model import load_whisper_model
from support.tiny_whisper import build_tiny_whisper


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> str:
        if not kwargs.get("local_files_only"):
            raise AssertionError(f"tried to download {args} {kwargs}")
        raise huggingface_hub.errors.LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)


def test_a_local_model_is_loaded_once_and_shared(tmp_path: Path) -> None:
    model_dir = build_tiny_whisper(tmp_path / "tiny")

    loaded_dir = load_whisper_model(str(model_dir))

    assert loaded_dir == str(model_dir.resolve())
    assert faster_whisper.load_model(loaded_dir) is faster_whisper.load_model(str(model_dir))


def test_a_missing_directory_names_itself_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    with pytest.raises(faster_whisper.ModelNotFoundError, match="download-files") as raised:
        load_whisper_model(str(missing))
    assert str(missing) in str(raised.value)


def test_a_named_model_not_in_the_cache_is_not_downloaded_by_the_worker(no_download: None) -> None:
    with pytest.raises(faster_whisper.ModelNotFoundError, match=r"'small' is not downloaded.*download-files"):
        load_whisper_model("small")


def test_an_unknown_model_name_lists_the_known_ones(no_download: None) -> None:
    with pytest.raises(faster_whisper.ModelNotFoundError, match="large-v3"):
        load_whisper_model("no-such-size")


def test_download_files_fetches_the_registered_models(monkeypatch: pytest.MonkeyPatch) -> None:
    fetched: list[str] = []
    monkeypatch.setattr(faster_whisper, "download_model", lambda model: fetched.append(model) or Path("/cache"))
    [plugin] = [p for p in Plugin.registered_plugins if p.package == faster_whisper.__name__]
    monkeypatch.setattr(plugin, "models_to_download", [])

    plugin.download_files()
    faster_whisper.register_model_download("medium")
    faster_whisper.register_model_download("medium")
    plugin.download_files()

    assert fetched == [faster_whisper.DEFAULT_MODEL, "medium"]
