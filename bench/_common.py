"""Shared bits of the benchmark scripts: percentiles, the machine, the table, the JSON file and WebRTC stats.

Importing this module puts tests/ on the path: the scripts use the tests' harness (`support`: the real
stack, rooms, voice client, lip-sync analysis, tiny models, browser probe). A script imports `_common`
before `support`; the linter's import order (third-party, then first-party) keeps it that way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"p50": round(float(np.percentile(arr, 50)), 2), "p95": round(float(np.percentile(arr, 95)), 2)}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def json_arg_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    return parser


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=False)))


def write_json(path: Path | None, result: dict[str, object]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


async def inbound_rtp_stats(room: rtc.Room) -> dict[str, Any]:
    """The WebRTC inbound-rtp stats of what this subscriber receives from other participants, by kind
    ("audio", "video"; the last track of a kind wins)."""
    found = {}
    for participant in room.remote_participants.values():
        for publication in participant.track_publications.values():
            if publication.track is None:
                continue
            for stats in await publication.track.get_stats():
                if stats.WhichOneof("stats") == "inbound_rtp":
                    found["audio" if publication.kind == rtc.TrackKind.KIND_AUDIO else "video"] = (
                        stats.inbound_rtp.inbound
                    )
    return found
