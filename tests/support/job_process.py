"""A worker's job processes, found through its JSON log: which process runs a room, and what it logged.

The worker runs each job in a child process; its log records carry `pid`, and the
job's records carry `job_id`, which "received job request" ties to the room.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

from .paths import REPO
from .stack import Worker


def log_records(worker: Worker, start: int = 0) -> Iterator[dict[str, Any]]:
    """The worker's JSON log records from byte offset `start` on (other lines are skipped)."""
    with worker.log_path.open("rb") as log:
        log.seek(start)
        for line in log:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def log_size(worker: Worker) -> int:
    return worker.log_path.stat().st_size


def job_process(worker: Worker, room: str, timeout: float = 60) -> psutil.Process:
    """The child process of `worker` that runs the job of `room` (waits until it has logged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job_ids = {r.get("job_id") for r in log_records(worker) if r.get("room") == room and "job_id" in r}
        for record in log_records(worker):
            if record.get("job_id") in job_ids and record.get("pid") not in (None, worker.process.pid):
                return psutil.Process(int(record["pid"]))
        time.sleep(0.2)
    raise AssertionError(f"no job process of room {room} in {worker.log_path}")


@dataclass
class Tracebacks:
    """Tracebacks a process logged: ours have a frame in this repository's code; the rest are the framework's."""

    ours: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)


_FRAME = re.compile(r'File "([^"]+)"')


def _is_ours(path: str) -> bool:
    return path.startswith(f"{REPO}/") and "site-packages" not in path


def tracebacks(worker: Worker, *, pid: int | None = None, start: int = 0) -> Tracebacks:
    """Tracebacks in the log from byte `start` on, of process `pid` (or of every process of the worker)."""
    found = Tracebacks()
    for record in log_records(worker, start):
        if pid is not None and record.get("pid") != pid:
            continue
        text = str(record.get("exc_info") or record.get("message", ""))
        if "Traceback" not in text:
            continue
        (found.ours if any(_is_ours(path) for path in _FRAME.findall(text)) else found.others).append(text)
    return found
