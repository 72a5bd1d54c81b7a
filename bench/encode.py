"""Benchmark the x264 encoder: ms per frame (colour conversion included) and bytes per frame.

    python bench/encode.py --json encode.json

Feeds a few hundred frames of the default avatar portrait (a generated
textured image when the portrait is absent) moving slightly, on one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from livekit.plugins.musetalk.encoders.base import EncoderOptions
from livekit.plugins.musetalk.encoders.x264 import X264Encoder

PORTRAIT = Path(__file__).resolve().parents[1] / "avatars" / "default" / "portrait.png"


def natural_image(width: int, height: int) -> np.ndarray:
    """The default avatar portrait as RGB at the given size, or a generated stand-in."""
    if PORTRAIT.exists():
        bgr = cv2.imread(str(PORTRAIT), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{PORTRAIT} is not a readable image")
        return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (width, height), interpolation=cv2.INTER_AREA)
    return textured_portrait(width, height)


def textured_portrait(width: int, height: int) -> np.ndarray:
    """A face-like picture with smooth shading, sharp edges and fine texture, like a photo."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:height, 0:width] / max(width, height)
    image = np.stack([90 + 80 * rows, 110 + 40 * cols, 150 - 60 * rows], axis=-1)
    cv2.ellipse(image, (width // 2, height // 2), (width // 4, height // 3), 0, 0, 360, (205, 160, 135), -1)
    for eye_x in (width * 2 // 5, width * 3 // 5):
        cv2.circle(image, (eye_x, height * 2 // 5), width // 30, (50, 35, 30), -1)
    cv2.ellipse(image, (width // 2, height * 3 // 5), (width // 12, height // 40), 0, 0, 360, (150, 60, 60), -1)
    grain = cv2.GaussianBlur(rng.normal(0, 6, (height, width)), (0, 0), 0.8)
    image += grain[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def moving_frames(image: np.ndarray, count: int) -> Iterator[np.ndarray]:
    """`count` frames of `image` swaying by a few pixels and a fraction of a degree, as a talking head does."""
    height, width = image.shape[:2]
    for index in range(count):
        phase = 2 * math.pi * index / 50
        motion = cv2.getRotationMatrix2D((width / 2, height / 2), 0.6 * math.sin(phase), 1.0)
        motion[:, 2] += (3 * math.sin(phase), 2 * math.cos(phase * 0.7))
        yield cv2.warpAffine(image, motion, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def measure_x264(size: int, frame_count: int) -> tuple[list[float], int]:
    """Per-frame encode times in ms and the total bytes produced, at the default bitrate."""
    encoder = X264Encoder(EncoderOptions(width=size, height=size))
    times_ms: list[float] = []
    total_bytes = 0
    for frame in moving_frames(natural_image(size, size), frame_count):
        start = time.perf_counter()
        unit = encoder.encode(frame)
        times_ms.append((time.perf_counter() - start) * 1000)
        total_bytes += len(unit.data)
    encoder.close()
    return times_ms, total_bytes


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = models[0] if models else cpu
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--frames", type=int, default=300, help="frames per resolution (default 300)")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    results: dict[str, object] = {"machine": machine_description()}
    print(f"machine: {results['machine']}")
    source = PORTRAIT if PORTRAIT.exists() else "a generated textured portrait (no avatars/default/portrait.png)"
    print(f"source: {source}")
    print(f"{'encoder':<8} {'size':>8} {'p50 ms':>8} {'p95 ms':>8} {'bytes/frame':>12}")
    for size in (512, 720):
        times_ms, total_bytes = measure_x264(size, args.frames)
        p50, p95 = np.percentile(times_ms, [50, 95])
        bytes_per_frame = total_bytes / len(times_ms)
        results[f"encode_ms_{size}"] = {"p50": round(float(p50), 3), "p95": round(float(p95), 3)}
        results[f"bytes_per_frame_{size}"] = round(bytes_per_frame)
        print(f"{'x264':<8} {f'{size}x{size}':>8} {p50:>8.2f} {p95:>8.2f} {bytes_per_frame:>12.0f}")
    print(f"{'nvenc':<8} not measured (no GPU)")
    results["nvenc"] = "not measured (no GPU)"
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
