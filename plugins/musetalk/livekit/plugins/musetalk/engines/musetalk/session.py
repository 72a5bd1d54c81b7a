"""One avatar driven by one audio stream through the shared MuseTalk scheduler.

A speech frame is rendered once its audio and the 92.5 ms after it are
queued (see audio_features), or its utterance has ended; until then the
session shows idle frames (the avatar's own frames) and keeps the audio.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
import torch
from transformers import WhisperFeatureExtractor

from ...types import AvatarFrame, FrameImage, Pcm
from ..base import mono_int16
from .audio_features import available_16k, frame_windows, plan_window, ready_frames, resample_to_16k
from .config import FPS, SAMPLE_RATE
from .inference import DeviceAvatar, RenderItem
from .scheduler import BatchScheduler


class _Utterance:
    """The audio of one utterance (push_audio .. end_segment) at the session's rate, and its computed features."""

    def __init__(self) -> None:
        self.chunks: list[Pcm] = []
        self.samples = 0
        self.ended = False
        self.shown = 0  # frames handed out
        self.features: dict[int, torch.Tensor] = {}

    def append(self, pcm: Pcm) -> None:
        self.chunks.append(pcm)
        self.samples += len(pcm)

    def audio(self) -> Pcm:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0] if self.chunks else np.zeros(0, np.int16)


class MuseTalkSession:
    def __init__(
        self,
        avatar: DeviceAvatar,
        scheduler: BatchScheduler,
        extractor: WhisperFeatureExtractor,
        *,
        sample_rate: int,
    ) -> None:
        if sample_rate % FPS:
            raise ValueError(f"sample_rate {sample_rate} Hz is not a whole number of samples per frame at {FPS} fps")
        self.sample_rate = sample_rate
        self.samples_per_frame = sample_rate // FPS
        self._avatar = avatar
        self._scheduler = scheduler
        self._extractor = extractor
        self._utterances: deque[_Utterance] = deque()
        self._position = 0  # in the avatar's ping-pong cycle
        self._lock = threading.Lock()
        self._held = False
        self._closed = False
        scheduler.attach()

    def push_audio(self, pcm: Pcm) -> None:
        samples = mono_int16(pcm)
        with self._lock:
            self._ensure_open()
            if not len(samples):
                return
            if not self._utterances or self._utterances[-1].ended:
                self._utterances.append(_Utterance())
            self._utterances[-1].append(samples.copy())

    def end_segment(self) -> None:
        with self._lock:
            if not self._utterances or self._utterances[-1].ended:
                return
            utterance = self._utterances[-1]
            partial = utterance.samples % self.samples_per_frame
            if partial:
                utterance.append(np.zeros(self.samples_per_frame - partial, np.int16))
            utterance.ended = True

    def next_frame(self) -> AvatarFrame:
        with self._lock:
            self._ensure_open()
            frame = self._avatar.cycle[self._position]
            self._position = (self._position + 1) % len(self._avatar.cycle)
            utterance = None if self._held else self._next_speech()
            if utterance is None:
                return AvatarFrame(image=self._output(self._avatar.frames[frame]), audio=None, speaking=False)
            index = utterance.shown
            utterance.shown += 1
            audio = utterance.audio()
            ended = utterance.ended
        deadline = time.monotonic() + 1.0 / FPS
        tokens = self._tokens(utterance, index, audio, ended, deadline)
        image = self._scheduler.render(RenderItem(self._avatar, frame, tokens), deadline)
        frame_audio = audio[index * self.samples_per_frame : (index + 1) * self.samples_per_frame]
        return AvatarFrame(image=self._output(image), audio=frame_audio, speaking=True)

    def speech_ready(self) -> bool:
        with self._lock:
            return not self._held and self._next_speech() is not None

    def queued_frames(self) -> int:
        with self._lock:
            return sum(u.samples // self.samples_per_frame - u.shown for u in self._utterances)

    def hold(self, held: bool) -> None:
        with self._lock:
            self._held = held

    def clear(self) -> None:
        with self._lock:
            self._utterances.clear()
            self._held = False

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._utterances.clear()
            self._closed = True
        self._scheduler.detach()

    def _next_speech(self) -> _Utterance | None:
        """The utterance whose next frame can be rendered now (dropping finished ones), or None."""
        while self._utterances:
            head = self._utterances[0]
            if head.ended and head.shown * self.samples_per_frame >= head.samples:
                self._utterances.popleft()
                continue
            ready = ready_frames(available_16k(head.samples, self.sample_rate), head.ended)
            whole = head.samples // self.samples_per_frame
            return head if head.shown < min(ready, whole) else None
        return None

    def _tokens(self, utterance: _Utterance, index: int, audio: Pcm, ended: bool, deadline: float) -> torch.Tensor:
        """Frame `index`'s audio tokens, computing them (and those of the frames queued after it) if needed."""
        if index not in utterance.features:
            window = plan_window(index, available_16k(len(audio), self.sample_rate), ended)
            assert window is not None and index in window.frames  # _next_speech checked readiness
            pcm = resample_to_16k(audio, self.sample_rate, window.start, window.end)
            mel = self._extractor(pcm, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features[0]
            hidden = self._scheduler.encode_audio(mel, deadline)
            utterance.features = dict(zip(window.frames, frame_windows(hidden, window), strict=True))
        return utterance.features.pop(index)

    def _output(self, image: torch.Tensor) -> FrameImage:
        """CUDA frames stay on the GPU for NVENC; CPU frames become numpy arrays (no copy) for x264."""
        return image.numpy() if image.device.type == "cpu" else image

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this lip-sync session is closed")
