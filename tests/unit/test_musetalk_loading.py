"""MuseTalk v1.5 checkpoints: the released layout loads, broken dirs say what is wrong, the full-size
architecture has the released parameter count, engine selection and the offline download error."""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
import torch

from livekit.plugins.musetalk import MODELS_DIR_ENV, EngineConfig, EngineUnavailableError
from livekit.plugins.musetalk.engines import choose_engine
from livekit.plugins.musetalk.engines.musetalk import availability
from livekit.plugins.musetalk.engines.musetalk.config import UNET_V15_CONFIG
from livekit.plugins.musetalk.engines.musetalk.download import download_models
from livekit.plugins.musetalk.engines.musetalk.loading import build_unet, load_models

V15_PARAMETERS = 849_947_844


def _copy(tiny_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_dir, tmp_path / "models"))


def test_tiny_layout_loads_through_the_real_loader(tiny_dir: Path) -> None:
    models = load_models(tiny_dir, device="cpu")
    assert models.dtype == torch.float32 and models.device.type == "cpu"
    assert models.unet.config.in_channels == 8 and models.unet.config.out_channels == 4
    assert models.unet.config.cross_attention_dim == models.whisper.config.d_model
    assert models.whisper.config.encoder_layers == 4
    assert not any(p.is_meta for p in models.unet.parameters())
    assert len(models.vae_digest) == 64


def test_missing_files_are_listed(tiny_dir: Path, tmp_path: Path) -> None:
    models_dir = _copy(tiny_dir, tmp_path)
    (models_dir / "musetalkV15" / "unet.pth").unlink()
    (models_dir / "whisper" / "pytorch_model.bin").unlink()
    with pytest.raises(EngineUnavailableError) as info:
        load_models(models_dir, device="cpu")
    message = str(info.value)
    assert "musetalkV15/unet.pth" in message and "whisper/model.safetensors or whisper/pytorch_model.bin" in message
    assert "sd-vae" not in message and "download-files" in message


@pytest.mark.parametrize("damage", ["truncated", "other_architecture", "pickled_code"])
def test_a_wrong_unet_file_is_refused(tiny_dir: Path, tmp_path: Path, damage: str) -> None:
    models_dir = _copy(tiny_dir, tmp_path)
    path = models_dir / "musetalkV15" / "unet.pth"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "other_architecture":
        torch.save({"conv_in.weight": torch.zeros(1)}, path)
    else:
        torch.save({"conv_in.weight": torch.zeros(1), "payload": Path("/")}, path)  # not loadable weights_only
    with pytest.raises(EngineUnavailableError, match="unet.pth"):
        load_models(models_dir, device="cpu")


def test_full_size_v15_unet_on_the_meta_device() -> None:
    unet = build_unet(UNET_V15_CONFIG, "meta")
    assert sum(p.numel() for p in unet.parameters()) == V15_PARAMETERS
    assert unet.conv_in.weight.shape == (320, 8, 3, 3)
    assert unet.conv_out.weight.shape == (4, 320, 3, 3)
    batch = 3
    with torch.device("meta"):
        out = unet(torch.zeros(batch, 8, 32, 32), torch.zeros(()), encoder_hidden_states=torch.zeros(batch, 50, 384))
    assert out.sample.shape == (batch, 4, 32, 32)


def select_engine(choice: str, models_dir: Path | None, cuda: bool) -> tuple[str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(availability, "cuda_available", lambda: cuda)
        return choose_engine(choice, EngineConfig(models_dir=models_dir))


def test_select_engine(tiny_dir: Path, tmp_path: Path) -> None:
    assert select_engine("cpu", models_dir=tiny_dir, cuda=True)[0] == "cpu"
    assert select_engine("auto", models_dir=tiny_dir, cuda=True)[0] == "musetalk"
    engine, reason = select_engine("auto", models_dir=tiny_dir, cuda=False)
    assert engine == "cpu" and "CUDA" in reason
    engine, reason = select_engine("auto", models_dir=tmp_path, cuda=True)
    assert engine == "cpu" and "musetalkV15/unet.pth" in reason
    assert select_engine("musetalk", models_dir=tiny_dir, cuda=False)[0] == "musetalk"
    with pytest.raises(EngineUnavailableError, match="weights missing"):
        select_engine("musetalk", models_dir=tmp_path, cuda=True)
    with pytest.raises(EngineUnavailableError, match="unknown engine 'gpu'"):
        select_engine("gpu", models_dir=tiny_dir, cuda=True)


def test_the_models_dir_comes_from_the_environment(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tiny_dir))
    assert select_engine("auto", models_dir=None, cuda=True)[0] == "musetalk"
    assert download_models() == tiny_dir  # complete: nothing to fetch


def test_download_offline_says_how_to_proceed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(EngineUnavailableError) as info:
        download_models(tmp_path)
    message = str(info.value)
    assert "TMElyralab/MuseTalk/musetalkV15/unet.pth" in message and "offline" in message
    assert str(tmp_path) in message
