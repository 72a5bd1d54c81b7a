"""Benchmark the x264 encoder: ms per frame (colour conversion included) and bytes per frame.

    python bench/encode.py --json encode.json

Feeds a few hundred frames of the default avatar portrait (a generated
textured image when the portrait is absent) moving slightly, on one thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from _common import machine, write_json

from livekit.plugins.musetalk.encoders.base import EncoderOptions
from livekit.plugins.musetalk.encoders.x264 import X264Encoder
from support.pictures import PORTRAIT, moving_frames, natural_image


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--frames", type=int, default=300, help="frames per resolution (default 300)")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    results: dict[str, object] = {"machine": machine()}
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
    write_json(args.json, results)


if __name__ == "__main__":
    main()
