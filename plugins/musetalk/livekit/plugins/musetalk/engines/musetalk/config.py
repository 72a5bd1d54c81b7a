"""MuseTalk v1.5's fixed numbers: checkpoint layout, UNet architecture, audio windowing, latent geometry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MODELS_DIR_ENV = "MUSETALK_MODELS_DIR"

UNET_WEIGHTS = "musetalkV15/unet.pth"
UNET_CONFIG = "musetalkV15/musetalk.json"
VAE_DIR = "sd-vae"
WHISPER_DIR = "whisper"
VAE_CONFIG = f"{VAE_DIR}/config.json"
VAE_WEIGHTS = (f"{VAE_DIR}/diffusion_pytorch_model.safetensors", f"{VAE_DIR}/diffusion_pytorch_model.bin")
WHISPER_CONFIG = f"{WHISPER_DIR}/config.json"
WHISPER_PREPROCESSOR = f"{WHISPER_DIR}/preprocessor_config.json"
WHISPER_WEIGHTS = (f"{WHISPER_DIR}/model.safetensors", f"{WHISPER_DIR}/pytorch_model.bin")
FACE_PARSER_WEIGHTS = "face-parse-bisent/79999_iter.pth"
"""Optional: with it, blend masks come from BiSeNet face parsing (as in MuseTalk), without it from the face mesh."""

REQUIRED_FILES: tuple[str | tuple[str, ...], ...] = (
    UNET_WEIGHTS,
    UNET_CONFIG,
    VAE_CONFIG,
    VAE_WEIGHTS,
    WHISPER_CONFIG,
    WHISPER_PREPROCESSOR,
    WHISPER_WEIGHTS,
)
"""Every file the engine reads; a tuple means any one of its alternatives (safetensors or the .bin MuseTalk ships)."""

# The full-size v1.5 UNet (musetalkV15/musetalk.json as released); 849,947,844 parameters.
UNET_V15_CONFIG: dict[str, Any] = {
    "_class_name": "UNet2DConditionModel",
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 384,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 8,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}

# sd-vae-ft-mse's AutoencoderKL (for the benchmark's full-size random model).
VAE_FT_MSE_CONFIG: dict[str, Any] = {
    "act_fn": "silu",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "norm_num_groups": 32,
    "out_channels": 3,
    "sample_size": 256,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
}

# --- audio ------------------------------------------------------------------------------------
SAMPLE_RATE = 16_000  # whisper's input rate
WHISPER_STEP_SAMPLES = 320  # one encoder output step: 20 ms (50 Hz)
WHISPER_WINDOW_SAMPLES = 30 * SAMPLE_RATE  # the encoder only accepts 30 s windows (3000 mel frames)
WHISPER_WINDOW_STEPS = WHISPER_WINDOW_SAMPLES // WHISPER_STEP_SAMPLES
FPS = 25  # MuseTalk's training rate: 2 whisper steps per video frame
STEPS_PER_FRAME = SAMPLE_RATE // WHISPER_STEP_SAMPLES // FPS
PAD_LEFT_FRAMES = 2  # audio_padding_length_left
PAD_RIGHT_FRAMES = 2  # audio_padding_length_right
WINDOW_STEPS = STEPS_PER_FRAME * (PAD_LEFT_FRAMES + PAD_RIGHT_FRAMES + 1)  # 10 steps per video frame
WINDOW_FIRST_STEP = -STEPS_PER_FRAME * PAD_LEFT_FRAMES  # frame i's window starts at step 2i - 4
RECEPTIVE_RIGHT_SAMPLES = 520
"""Audio past the start of a whisper step that the step depends on: the 25 ms STFT window centred on
mel frames 10 ms apart, then two k=3 convolutions (the second with stride 2) reach mel frame 2j+2,
whose window ends at 20j + 32.5 ms."""
POSITIONAL_MAX_LEN = 5000

# --- image / latent geometry ------------------------------------------------------------------
CROP_SIZE = 256
LATENT_SIZE = 32
LATENT_CHANNELS = 4
VAE_SCALING_FACTOR = 0.18215
BOX_EXTRA_MARGIN = 10  # v1.5: pixels added below the chin
BLEND_EXPAND = 1.5  # blend crop box: the face box's larger side x 1.5
BLEND_UPPER_BOUNDARY = 0.5  # rows above this share of the blend box are never blended
BLEND_BLUR_SHARE = 0.1  # Gaussian blur kernel: 0.1 x blend box width, made odd

# --- face parsing (blend masks, MuseTalk's 'jaw' mode) ----------------------------------------
PARSE_SIZE = 512  # the blend crop box is parsed at this size
PARSE_CLASSES = 19  # CelebAMask-HQ
PARSE_MEAN = (0.485, 0.456, 0.406)  # ImageNet normalisation
PARSE_STD = (0.229, 0.224, 0.225)
PARSE_SKIN = 1
PARSE_NOSE = 10
PARSE_MOUTH_AND_LIPS = (11, 12, 13)  # mouth, upper lip, lower lip
SKIN_DILATE_CONE_ROWS = 21  # dilation element: a cone over these rows (its upper half empty) ...
SKIN_DILATE_TAIL_ROWS = 12  # ... then rows of the cone's base width; 33 x 33 in all
CHEEK_ERODE_KERNEL = (35, 3)  # ellipse (width, height)
CHEEK_ERODE_ITERATIONS = 2
CHEEK_WIDTH = 90  # cheek zones: columns at least this far from the centre of the parsed crop


def default_models_dir() -> Path:
    configured = os.environ.get(MODELS_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "streaming-avatar" / "musetalk"


def missing_files(models_dir: Path) -> list[str]:
    missing = []
    for entry in REQUIRED_FILES:
        alternatives = (entry,) if isinstance(entry, str) else entry
        if not any((models_dir / name).is_file() for name in alternatives):
            missing.append(" or ".join(alternatives))
    return missing
