"""Load MuseTalk v1.5's released checkpoints (UNet, sd-vae, whisper-tiny encoder, optional face parser) from a
models dir.

Loading is separate from running: this module only turns files into eval-mode
modules on a device; inference.py runs them.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

# From their defining modules: type checkers resolve diffusers' lazy top-level names to placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from transformers import WhisperFeatureExtractor, WhisperModel
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from ...errors import EngineUnavailableError
from .config import (
    FACE_PARSER_WEIGHTS,
    MODELS_DIR_ENV,
    UNET_CONFIG,
    UNET_WEIGHTS,
    VAE_DIR,
    VAE_WEIGHTS,
    WHISPER_DIR,
    default_models_dir,
    missing_files,
)
from .face_parsing import BiSeNet


@dataclass
class MuseTalkModels:
    unet: UNet2DConditionModel
    vae: AutoencoderKL
    whisper: WhisperEncoder
    feature_extractor: WhisperFeatureExtractor
    device: torch.device
    dtype: torch.dtype
    vae_digest: str
    """sha256 of the VAE weights: prepared latents depend on them, so it keys the avatar cache."""
    face_parser_digest: str | None = None
    """sha256 of the optional face parser's weights (None: absent): blend masks depend on them."""

    @property
    def material_key(self) -> str:
        """What prepared material derives from, for the avatar cache key: the VAE, and the parser if present."""
        parser = f"-parsed-{self.face_parser_digest[:8]}" if self.face_parser_digest else ""
        return f"{self.vae_digest[:12]}{parser}"


def require_files(models_dir: Path) -> None:
    missing = missing_files(models_dir)
    if missing:
        raise EngineUnavailableError(
            f"MuseTalk weights missing in {models_dir}: {', '.join(missing)}; run your agent's "
            f"`download-files` command (or set {MODELS_DIR_ENV} to a MuseTalk models dir)"
        )


def load_unet_config(models_dir: Path) -> dict[str, Any]:
    path = models_dir / UNET_CONFIG
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EngineUnavailableError(f"cannot read the MuseTalk UNet config {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise EngineUnavailableError(f"{path} must hold a JSON object of UNet2DConditionModel arguments")
    return config


def build_unet(config: dict[str, Any], device: torch.device | str = "meta") -> UNet2DConditionModel:
    """The UNet with uninitialised (meta) or randomly initialised weights."""
    with torch.device(device):
        unet: UNet2DConditionModel = UNet2DConditionModel.from_config(config)  # diffusers returns it untyped
        return unet


def load_unet(models_dir: Path, device: torch.device, dtype: torch.dtype) -> UNet2DConditionModel:
    """Build on the meta device and assign the loaded tensors: no 10 s random initialisation of 850 M weights."""
    unet = build_unet(load_unet_config(models_dir))
    path = models_dir / UNET_WEIGHTS
    _assign_state_dict(unet, path, device, dtype, f"a MuseTalk v1.5 UNet state dict matching {UNET_CONFIG}")
    return unet.eval()


def load_face_parser(models_dir: Path, device: torch.device | str) -> BiSeNet | None:
    """The BiSeNet face parser in fp32, or None when its optional weights are absent. Only preparation uses it."""
    path = models_dir / FACE_PARSER_WEIGHTS
    if not path.is_file():
        return None
    with torch.device("meta"):
        parser = BiSeNet()
    _assign_state_dict(
        parser,
        path,
        torch.device(device),
        torch.float32,
        "the BiSeNet face-parsing state dict",
        remedy="; remove it to derive blend masks from the face mesh instead",
    )
    return parser.eval()


def _assign_state_dict(
    module: torch.nn.Module, path: Path, device: torch.device, dtype: torch.dtype, what: str, remedy: str = ""
) -> None:
    """Load a weights-only state dict strictly into a module built on the meta device (no random initialisation)."""
    try:
        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        tensors = {k: v.to(device, dtype) if v.is_floating_point() else v.to(device) for k, v in state.items()}
        module.load_state_dict(tensors, strict=True, assign=True)
    except (OSError, RuntimeError, KeyError, AttributeError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise EngineUnavailableError(f"{path} is not {what}: {_first_line(exc)}{remedy}") from exc


def load_vae(models_dir: Path, device: torch.device, dtype: torch.dtype) -> AutoencoderKL:
    try:
        vae: AutoencoderKL = AutoencoderKL.from_pretrained(models_dir / VAE_DIR, torch_dtype=dtype).to(device).eval()
        return vae
    except (OSError, ValueError, RuntimeError) as exc:
        raise EngineUnavailableError(f"cannot load the VAE from {models_dir / VAE_DIR}: {_first_line(exc)}") from exc


def load_whisper(
    models_dir: Path, device: torch.device, dtype: torch.dtype
) -> tuple[WhisperEncoder, WhisperFeatureExtractor]:
    directory = models_dir / WHISPER_DIR
    try:
        encoder = WhisperModel.from_pretrained(directory, dtype=dtype).get_encoder().to(device)
        extractor = WhisperFeatureExtractor.from_pretrained(directory)
    except (OSError, ValueError, RuntimeError) as exc:
        raise EngineUnavailableError(f"cannot load whisper from {directory}: {_first_line(exc)}") from exc
    return encoder.eval(), extractor


def load_models(
    models_dir: Path | None = None, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> MuseTalkModels:
    """All runtime models on `device` (default: CUDA if present), fp16 on CUDA and fp32 on CPU by default."""
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    require_files(models_dir)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = dtype or (torch.float16 if device.type == "cuda" else torch.float32)
    whisper, extractor = load_whisper(models_dir, device, dtype)
    parser_weights = models_dir / FACE_PARSER_WEIGHTS
    return MuseTalkModels(
        unet=load_unet(models_dir, device, dtype),
        vae=load_vae(models_dir, device, dtype),
        whisper=whisper,
        feature_extractor=extractor,
        device=device,
        dtype=dtype,
        vae_digest=_file_digest(next(p for name in VAE_WEIGHTS if (p := models_dir / name).is_file())),
        face_parser_digest=_file_digest(parser_weights) if parser_weights.is_file() else None,
    )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
