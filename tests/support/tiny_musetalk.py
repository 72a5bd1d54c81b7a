"""Generate a tiny random-weight MuseTalk v1.5 models dir in the released layout, for offline tests.

    musetalkV15/unet.pth, musetalkV15/musetalk.json   (UNet2DConditionModel kwargs + torch state dict)
    sd-vae/config.json, sd-vae/diffusion_pytorch_model.bin
    whisper/config.json, whisper/pytorch_model.bin, whisper/preprocessor_config.json
    face-parse-bisent/79999_iter.pth                  (optional BiSeNet face parser, full size)

The shapes that matter keep their real values: 8 UNet input channels, 4
latent channels, an 8x VAE (256 px crops -> 32x32 latents), whisper with 4
encoder layers (5 hidden states -> 50 audio tokens per frame) and
`cross_attention_dim` equal to whisper's `d_model`. Only widths are small.
The face parser keeps the released architecture (its state dict has fixed
shapes): 13.3 M random weights, 53 MB.

Usable as a function, ``build_tiny_musetalk(out_dir) -> models_dir``, or as a
script: ``python tests/support/tiny_musetalk.py OUT_DIR [--face-parser]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

from livekit.plugins.musetalk.engines.musetalk.config import FACE_PARSER_WEIGHTS
from livekit.plugins.musetalk.engines.musetalk.face_parsing import BiSeNet

SEED = 1234
PARSER_SEED = 0  # its random parse of the default portrait is mostly skin, with some lips, eyes and background
WHISPER_D_MODEL = 64

TINY_UNET_CONFIG = {
    "_class_name": "UNet2DConditionModel",
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [32, 64],
    "center_input_sample": False,
    "cross_attention_dim": WHISPER_D_MODEL,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 8,
    "layers_per_block": 1,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 8,
    "out_channels": 4,
    "sample_size": 32,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
}


def _vae() -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=256,
    )


def _whisper() -> WhisperForConditionalGeneration:
    config = WhisperConfig(
        d_model=WHISPER_D_MODEL,
        encoder_layers=4,
        encoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=128,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=64,
    )
    return WhisperForConditionalGeneration(config)


def build_tiny_musetalk(out_dir: Path, *, face_parser: bool = False) -> Path:
    """Write the tiny models (and the random face parser if asked) into ``out_dir`` (created if missing)."""
    out_dir = Path(out_dir)
    torch.manual_seed(SEED)

    unet_dir = out_dir / "musetalkV15"
    unet_dir.mkdir(parents=True, exist_ok=True)
    (unet_dir / "musetalk.json").write_text(json.dumps(TINY_UNET_CONFIG, indent=2))
    torch.save(UNet2DConditionModel.from_config(TINY_UNET_CONFIG).state_dict(), unet_dir / "unet.pth")

    _vae().save_pretrained(out_dir / "sd-vae", safe_serialization=False)

    whisper_dir = out_dir / "whisper"
    whisper = _whisper()
    whisper.config.save_pretrained(whisper_dir)
    state = {k: v for k, v in whisper.state_dict().items() if k != "proj_out.weight"}  # tied, not saved
    torch.save(state, whisper_dir / "pytorch_model.bin")
    WhisperFeatureExtractor(feature_size=80).save_pretrained(whisper_dir)
    if face_parser:
        write_random_face_parser(out_dir)
    return out_dir


def write_random_face_parser(models_dir: Path) -> Path:
    torch.manual_seed(PARSER_SEED)
    path = Path(models_dir) / FACE_PARSER_WEIGHTS
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(BiSeNet().state_dict(), path)
    return path


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[2:] not in ([], ["--face-parser"]):
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR [--face-parser]")
    print(build_tiny_musetalk(Path(sys.argv[1]), face_parser=sys.argv[2:] == ["--face-parser"]))
