"""Benchmark MuseTalk v1.5 inference (UNet at t=0 + VAE decode, the per-frame work) and the whisper window.

    python bench/musetalk.py --json musetalk.json [--models-dir DIR]

On CUDA: frames/s and ms per batch for batch sizes 1-16 in fp16, and peak GPU
memory, with the weights in --models-dir (random full-size weights without).
On CPU: ms/frame of the tiny test model and of the full-size model (random
weights, batch 1, fp32, a couple of iterations: several seconds each), with
the FLOPs per frame so a GPU figure can be projected. Nothing here has run on
a GPU yet: the CUDA branch is unmeasured.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from _common import write_json
from diffusers import AutoencoderKL
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from transformers import WhisperConfig, WhisperFeatureExtractor
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from livekit.plugins.musetalk.engines.musetalk.config import (
    LATENT_SIZE,
    UNET_V15_CONFIG,
    VAE_FT_MSE_CONFIG,
    WINDOW_STEPS,
    missing_files,
)
from livekit.plugins.musetalk.engines.musetalk.inference import MuseTalkRunner
from livekit.plugins.musetalk.engines.musetalk.loading import MuseTalkModels, build_unet, load_models
from support.tiny_musetalk import build_tiny_musetalk

WHISPER_TINY = WhisperConfig(d_model=384, encoder_layers=4, encoder_attention_heads=6, encoder_ffn_dim=1536)


def random_full_size(device: torch.device, dtype: torch.dtype) -> MuseTalkModels:
    """Full-size v1.5 models with random weights, allocated without the slow default initialisation."""
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(VAE_FT_MSE_CONFIG)
        whisper = WhisperEncoder(WHISPER_TINY)
    modules = [build_unet(UNET_V15_CONFIG, "meta"), vae, whisper]
    generator = torch.Generator(device).manual_seed(0)
    for index, module in enumerate(modules):
        modules[index] = module.to_empty(device=device).to(dtype).eval()
        for tensor in [*modules[index].parameters(), *modules[index].buffers()]:
            tensor.data.normal_(0.0, 0.02, generator=generator)
    unet, vae, whisper = modules
    return MuseTalkModels(unet, vae, whisper, WhisperFeatureExtractor(), device, dtype, vae_digest="random")


def flops_per_frame(models: MuseTalkModels) -> int:
    """UNet + VAE decode FLOPs for one frame, counted on the meta device (the math SDPA kernel is counted)."""
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(models.vae.config)
        unet = build_unet(dict(models.unet.config), "meta")
    tokens = WINDOW_STEPS * (models.whisper.config.encoder_layers + 1)
    audio = torch.zeros(1, tokens, models.unet.config.cross_attention_dim, device="meta")
    latents = torch.zeros(1, 8, LATENT_SIZE, LATENT_SIZE, device="meta")
    with torch.device("meta"), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        vae.decode(unet(latents, torch.zeros(()), encoder_hidden_states=audio).sample)
    return counter.get_total_flops()


def time_batch(runner: MuseTalkRunner, batch: int, iterations: int) -> float:
    """Median ms of one batched UNet + VAE decode call (after a warm-up call)."""
    models = runner.models
    latents = torch.randn(batch, 8, LATENT_SIZE, LATENT_SIZE, device=models.device, dtype=models.dtype)
    tokens = WINDOW_STEPS * runner.num_hidden_states
    audio = torch.randn(batch, tokens, models.whisper.config.d_model, device=models.device, dtype=models.dtype)
    times = []
    for _ in range(iterations + 1):
        synchronize(models.device)
        started = time.perf_counter()
        runner.faces(latents, audio)
        synchronize(models.device)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times[1:])[len(times[1:]) // 2]


def time_whisper(runner: MuseTalkRunner) -> float:
    mel = runner.models.feature_extractor(torch.zeros(16000).numpy(), sampling_rate=16000, return_tensors="np")
    runner.encode_audio(mel.input_features)
    synchronize(runner.device)
    started = time.perf_counter()
    runner.encode_audio(mel.input_features)
    synchronize(runner.device)
    return (time.perf_counter() - started) * 1000


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # GPU only (not run here)


def bench_cuda(models_dir: Path | None, iterations: int) -> dict:
    """GPU only (not run here): fp16, batch sizes 1-16."""
    device = torch.device("cuda")
    if models_dir is not None and not missing_files(models_dir):
        models, weights = load_models(models_dir, device), str(models_dir)
    else:
        models, weights = random_full_size(device, torch.float16), "random full-size"
    runner = MuseTalkRunner(models)
    torch.cuda.reset_peak_memory_stats(device)
    by_batch = []
    for batch in range(1, 17):
        ms = time_batch(runner, batch, iterations)
        by_batch.append({"batch": batch, "ms": round(ms, 2), "fps": round(batch * 1000 / ms, 1)})
    return {
        "device": torch.cuda.get_device_name(device),
        "weights": weights,
        "dtype": "float16",
        "by_batch": by_batch,
        "whisper_ms_per_window": round(time_whisper(runner), 2),
        "peak_memory_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 2),
        "flops_per_frame": flops_per_frame(models),
    }


def bench_cpu(iterations: int) -> dict:
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as directory:
        tiny = MuseTalkRunner(load_models(build_tiny_musetalk(Path(directory)), device))
        tiny_ms = time_batch(tiny, 1, 5)
    full = MuseTalkRunner(random_full_size(device, torch.float32))
    ms = time_batch(full, 1, iterations)
    return {
        "device": f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
        "weights": "random full-size",
        "dtype": "float32",
        "by_batch": [{"batch": 1, "ms": round(ms, 1), "fps": round(1000 / ms, 3)}],
        "tiny_ms_per_frame": round(tiny_ms, 2),
        "whisper_ms_per_window": round(time_whisper(full), 1),
        "flops_per_frame": flops_per_frame(full.models),
        "note": "GPU throughput is unmeasured; project it from flops_per_frame",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--models-dir", type=Path, help="real MuseTalk weights (CUDA only; random ones otherwise)")
    parser.add_argument("--iterations", type=int, default=2, help="timed calls per batch size")
    args = parser.parse_args()
    results = bench_cuda(args.models_dir, args.iterations) if torch.cuda.is_available() else bench_cpu(args.iterations)
    print(json.dumps(results, indent=2))
    write_json(args.json, results)


if __name__ == "__main__":
    main()
