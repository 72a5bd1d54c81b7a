"""Remote mode, the render side: render the avatar of an agent in another worker's job.

Speech arrives from the agent through `DataStreamAudioReceiver`; it drives the
same publisher and pacer as in-process mode, and the pacer's playback events
go back to the agent over the receiver's RPCs (so its transcripts and
interruptions stay exact).
"""

from __future__ import annotations

import asyncio

from livekit import rtc
from livekit.agents import utils
from livekit.agents.voice.avatar import AudioSegmentEnd, DataStreamAudioReceiver

from .log import logger
from .options import AvatarOptions
from .pacer import AvatarPacer
from .publisher import AvatarPublisher
from .remote import RenderRequest


async def feed_pacer(receiver: DataStreamAudioReceiver, pacer: AvatarPacer) -> None:
    """Play what `receiver` yields through `pacer` until the stream ends; report playback back."""
    pacer.on_playback_started = lambda created_at: receiver.notify_playback_started()
    pacer.on_playback_finished = lambda position, interrupted: receiver.notify_playback_finished(
        playback_position=position, interrupted=interrupted
    )
    receiver.on("clear_buffer", pacer.interrupt)
    try:
        async for item in receiver:
            if isinstance(item, AudioSegmentEnd):
                pacer.end_segment()
            else:
                pacer.push_audio(item)
    finally:
        receiver.off("clear_buffer", pacer.interrupt)


class RemoteAvatarRenderer:
    """One render job: the avatar for `request.agent_identity`, published from this room's participant."""

    def __init__(self, room: rtc.Room, request: RenderRequest, opts: AvatarOptions) -> None:
        self._room = room
        self._request = request
        self._publisher = AvatarPublisher(opts)
        self._receiver = DataStreamAudioReceiver(room, sender_identity=request.agent_identity)
        self._feed_task: asyncio.Task[None] | None = None

    @property
    def notices(self) -> list[str]:
        return self._publisher.notices

    async def start(self) -> None:
        # The receiver listens before the video track is published: the agent starts
        # streaming speech as soon as it sees that track.
        await self._receiver.start()
        pacer = await self._publisher.start(self._room)
        self._feed_task = asyncio.create_task(feed_pacer(self._receiver, pacer), name="musetalk-remote-feed")
        logger.info("rendering avatar for a remote agent", extra={"agent": self._request.agent_identity})

    async def aclose(self) -> None:
        if self._feed_task is not None:
            await utils.aio.cancel_and_wait(self._feed_task)
        await self._receiver.aclose()
        await self._publisher.aclose()
