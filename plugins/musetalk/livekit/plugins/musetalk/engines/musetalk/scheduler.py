"""One thread per model process runs every forward pass, batching the pending work of all sessions.

Sessions call `encode_audio` / `render` from their own threads and block on
the result. Each round the worker runs either the pending whisper windows (one
encoder call) or, when there are none, up to `max_batch` frames, earliest
deadline first (one UNet + VAE call, avatars mixed): sessions whose audio was
just encoded then join the frame batch of the others. A round starts as soon as every attached
session is waiting, or when the oldest request has waited `gather_s`, or when
the earliest deadline leaves only the expected batch time: a session that is
late (or idle) never holds the others back for longer than that.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import torch

from ...log import logger
from .inference import MuseTalkRunner, RenderItem

T = TypeVar("T")
R = TypeVar("R")

LOAD_WINDOW_S = 2.0


@dataclass
class Request(Generic[T, R]):
    payload: T
    submitted: float
    deadline: float
    future: Future[R] = field(default_factory=Future)


def flush_time(
    waiting: Sequence[Request[Any, Any]], attached: int, *, max_batch: int, gather_s: float, batch_s: float
) -> float:
    """When the worker should start a round for these waiting requests (-inf: now)."""
    if not waiting:
        return float("inf")
    if len(waiting) >= min(max_batch, max(attached, 1)):
        return float("-inf")
    oldest = min(request.submitted for request in waiting)
    earliest_deadline = min(request.deadline for request in waiting)
    return min(oldest + gather_s, earliest_deadline - batch_s)


def take_batch(pending: list[Request[T, R]], max_batch: int) -> list[Request[T, R]]:
    """Remove and return up to `max_batch` requests, earliest deadline first."""
    pending.sort(key=lambda request: request.deadline)
    batch = pending[:max_batch]
    del pending[:max_batch]
    return batch


class BatchScheduler:
    def __init__(
        self,
        runner: MuseTalkRunner,
        *,
        max_batch: int = 16,
        max_sessions: int | None = None,
        gather_s: float = 0.005,
    ) -> None:
        self.runner = runner
        self.max_batch = max_batch
        self.max_sessions = max_sessions or max_batch
        self.gather_s = gather_s
        self._audio: list[Request[np.ndarray, torch.Tensor]] = []
        self._frames: list[Request[RenderItem, torch.Tensor]] = []
        self._attached = 0
        self._batch_s = 0.0
        self._busy: deque[tuple[float, float]] = deque()  # (end, duration) of recent rounds
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="musetalk-batches", daemon=True)
        self._thread.start()

    def attach(self) -> None:
        with self._wake:
            self._attached += 1

    def detach(self) -> None:
        with self._wake:
            self._attached -= 1
            self._wake.notify()

    @property
    def attached(self) -> int:
        return self._attached

    def encode_audio(self, mel: np.ndarray, deadline: float) -> torch.Tensor:
        """(80, 3000) log-mel window → (1500, layers, D) hidden states; blocks until computed."""
        return self._submit(self._audio, Request(mel, time.monotonic(), deadline)).result()

    def render(self, item: RenderItem, deadline: float) -> torch.Tensor:
        """The frame for `item`, computed in a batch with other sessions' frames; blocks until rendered."""
        return self._submit(self._frames, Request(item, time.monotonic(), deadline)).result()

    def load(self) -> float:
        """0..1 for the worker's load report: attached sessions against capacity, or the busy share of the
        last 2 s, whichever is higher."""
        with self._wake:
            now = time.monotonic()
            busy = sum(duration for end, duration in self._busy if end > now - LOAD_WINDOW_S)
            return min(1.0, max(self._attached / self.max_sessions, busy / LOAD_WINDOW_S))

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _submit(self, queue: list[Request[T, R]], request: Request[T, R]) -> Future[R]:
        with self._wake:
            if self._closed:
                raise RuntimeError("the MuseTalk scheduler is closed")
            queue.append(request)
            self._wake.notify()
        return request.future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed:
                    due = flush_time(
                        self._audio + self._frames,
                        self._attached,
                        max_batch=self.max_batch,
                        gather_s=self.gather_s,
                        batch_s=self._batch_s,
                    )
                    delay = due - time.monotonic()
                    if delay <= 0:
                        break
                    self._wake.wait(None if delay == float("inf") else delay)
                if self._closed:
                    self._fail_pending()
                    return
                audio = take_batch(self._audio, self.max_batch)
                frames = [] if audio else take_batch(self._frames, self.max_batch)
            started = time.monotonic()
            if audio:
                self._complete(audio, lambda mels: list(self.runner.encode_audio(np.stack(mels))))
            else:
                self._complete(frames, self.runner.render)
            duration = time.monotonic() - started
            with self._wake:
                self._batch_s = duration if not self._busy else 0.8 * self._batch_s + 0.2 * duration
                self._busy.append((started + duration, duration))
                while self._busy and self._busy[0][0] < started - LOAD_WINDOW_S:
                    self._busy.popleft()

    @staticmethod
    def _complete(batch: list[Request[T, R]], run: Callable[[list[T]], Sequence[R]]) -> None:
        if not batch:
            return
        try:
            results = run([request.payload for request in batch])
        except Exception as exc:  # delivered to every waiting session, which raises it in its own thread
            logger.exception("MuseTalk batch of %d failed", len(batch))
            for request in batch:
                request.future.set_exception(exc)
            return
        for request, result in zip(batch, results, strict=True):
            request.future.set_result(result)

    def _fail_pending(self) -> None:
        for request in self._audio + self._frames:
            request.future.set_exception(RuntimeError("the MuseTalk scheduler was closed"))
        self._audio.clear()
        self._frames.clear()
