"""Benchmark the CPU lip-sync engine on one core: render cost, capacity, lip-sync latency.

    python bench/engine_cpu.py [--pack default] [--frames 500] [--json OUT]

Render ms/frame is measured on speaking frames (the mouth cycling from closed
to wide open), the dearest kind. Lip-sync latency is the engine's share: from
pushing one frame of audio to that frame coming out of `next_frame()`; the
pacer's wait for the next 40 ms tick comes on top.
"""

from __future__ import annotations

# ruff: noqa: E402  (the thread limits must be set before numpy and OpenCV load)
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from livekit.plugins.musetalk import VideoSpec, load_pack
from livekit.plugins.musetalk.engines.cpu import CpuEngine, CpuSession

SAMPLE_RATE = 16000
FRAME_MS = 40.0


def syllable_audio(seconds: float) -> np.ndarray:
    """A 190 Hz buzz whose loudness rises and falls four times a second, like syllables."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    buzz = np.sign(np.sin(2 * np.pi * 190 * t)) * 0.3 + np.sin(2 * np.pi * 570 * t) * 0.2
    return (buzz * np.sin(np.pi * 4 * t) ** 2 * 16000).astype(np.int16)


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(samples_ms, 50)), 3),
        "p95": round(float(np.percentile(samples_ms, 95)), 3),
    }


def render_times(session: CpuSession, frames: int) -> list[float]:
    session.push_audio(syllable_audio(frames * FRAME_MS / 1000 + 1))
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        session.next_frame()
        times.append((time.perf_counter() - start) * 1000)
    return times


def lipsync_latencies(session: CpuSession, frames: int) -> list[float]:
    audio = syllable_audio(frames * FRAME_MS / 1000)
    chunks = np.split(audio[: frames * session.samples_per_frame], frames)
    latencies = []
    for chunk in chunks:
        start = time.perf_counter()
        session.push_audio(chunk)
        frame = session.next_frame()
        latencies.append((time.perf_counter() - start) * 1000)
        assert frame.speaking
    return latencies


def machine() -> dict[str, object]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pack", default="default")
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    engine = CpuEngine()
    pack = load_pack(args.pack)
    results: dict[str, object] = {}
    for size in (512, 720):
        prepared = engine.prepare(pack, VideoSpec(width=size, height=size, fps=25))
        session = engine.new_session(prepared, sample_rate=SAMPLE_RATE)
        render_times(session, 50)  # warm-up
        results[f"render_ms_{size}"] = percentiles(render_times(session, args.frames))
    session = engine.new_session(engine.prepare(pack), sample_rate=SAMPLE_RATE)
    results["lipsync_latency_ms"] = percentiles(lipsync_latencies(session, args.frames))
    p95_512 = results["render_ms_512"]["p95"]  # type: ignore[index]
    results["frames_per_second_512"] = round(1000 / results["render_ms_512"]["p50"], 1)  # type: ignore[index]
    results["frames_per_second_720"] = round(1000 / results["render_ms_720"]["p50"], 1)  # type: ignore[index]
    results["sessions_at_25fps"] = int((os.cpu_count() or 1) * FRAME_MS // p95_512)
    results["machine"] = machine()

    rows = [
        ("render 512x512 ms/frame p50 / p95", "{p50} / {p95}".format(**results["render_ms_512"])),  # type: ignore[arg-type]
        ("render 720x720 ms/frame p50 / p95", "{p50} / {p95}".format(**results["render_ms_720"])),  # type: ignore[arg-type]
        ("frames/s on one core 512 / 720", f"{results['frames_per_second_512']} / {results['frames_per_second_720']}"),
        ("sessions at 25 fps (cores x 40 ms / p95 512)", str(results["sessions_at_25fps"])),
        ("lip-sync latency ms p50 / p95 (engine share)", "{p50} / {p95}".format(**results["lipsync_latency_ms"])),  # type: ignore[arg-type]
        ("machine", f"{results['machine']['cpu']}, {results['machine']['cores']} cores"),  # type: ignore[index]
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
