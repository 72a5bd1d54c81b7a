"""The worker's Whisper model: loaded once per process from disk, never downloaded by a job; a named
model missing from the Hugging Face cache falls back to the bundled Whisper base; `download-files`
fetches the configured model."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
from livekit.agents import Plugin
from livekit.plugins import faster_whisper

from agent import whisper_model
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


def test_a_named_model_not_in_the_cache_falls_back_to_the_bundled_base_and_says_how_to_get_it(
    no_download: None, whisper_base_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loaded_dir = load_whisper_model("small", cache_root=whisper_base_dir.parent)

    assert loaded_dir == str(whisper_base_dir)
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "'small' is not downloaded" in warning and "bundled Whisper base" in warning
    assert "download-files" in warning


def test_base_not_in_the_cache_is_the_bundled_copy_without_a_warning(
    no_download: None, whisper_base_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert load_whisper_model("base", cache_root=whisper_base_dir.parent) == str(whisper_base_dir)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_without_the_bundled_base_a_missing_model_names_both_problems(
    no_download: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_installed(cache_root: Path | None) -> Path:
        raise faster_whisper.ModelNotFoundError("the bundled Whisper base needs the package 'x'")

    monkeypatch.setattr(whisper_model, "bundled_whisper_dir", not_installed)
    with pytest.raises(faster_whisper.ModelNotFoundError, match=r"'small' is not downloaded.*'x'.*download-files"):
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
