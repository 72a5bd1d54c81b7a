"""The agent session's audio output, redirected through the avatar.

TTS audio goes to the lip-sync pacer instead of straight to the room; the
pacer reports when it really played, so transcripts stay in sync and an
interruption cuts the transcript where the listener stopped hearing it.
"""

from __future__ import annotations

from livekit import rtc
from livekit.agents.voice.io import AudioOutput, AudioOutputCapabilities

from .pacer import AvatarPacer


class AvatarAudioOutput(AudioOutput):
    def __init__(self, pacer: AvatarPacer, *, sample_rate: int) -> None:
        super().__init__(
            label="musetalk.AvatarSession",
            capabilities=AudioOutputCapabilities(pause=True),
            sample_rate=sample_rate,
        )
        self._pacer = pacer
        pacer.on_playback_started = lambda created_at: self.on_playback_started(created_at=created_at)
        pacer.on_playback_finished = lambda position, interrupted: self.on_playback_finished(
            playback_position=position, interrupted=interrupted
        )

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._pacer.push_audio(frame)

    def flush(self) -> None:
        super().flush()
        self._pacer.end_segment()

    def pause(self) -> None:
        super().pause()
        self._pacer.pause()

    def resume(self) -> None:
        super().resume()
        self._pacer.resume()

    def clear_buffer(self) -> None:
        self._pacer.interrupt()
