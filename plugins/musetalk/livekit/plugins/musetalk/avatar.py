"""`musetalk.AvatarSession`: gives a LiveKit agent a lip-synced face.

Used like every LiveKit avatar plugin, before `session.start`:

    avatar = musetalk.AvatarSession(musetalk.AvatarOptions(avatar="default"))
    await avatar.start(session, room=ctx.room)
    await session.start(agent=..., room=ctx.room)

In-process mode (the default) takes over the agent session's audio output,
renders a frame per 40 ms of speech (idle animation otherwise) and publishes
an avatar video track and the matching audio track from the agent's own
participant. Remote mode dispatches a render worker that does the same from
its own participant, on behalf of the agent (see `remote.py`). If that render
worker leaves mid-session, replies go text-only while the dispatcher finds
another render worker, which takes over as the same avatar participant; each
change is emitted as a `"notice"` event (a sentence for the room).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from livekit import api, rtc
from livekit.agents.voice import AgentSession
from livekit.agents.voice.avatar import AvatarSession as _BaseAvatarSession
from livekit.agents.voice.avatar import DataStreamAudioOutput

from .audio_output import AvatarAudioOutput
from .errors import RenderWorkerError
from .log import logger
from .options import AvatarOptions
from .pacer import AvatarPacer
from .publisher import AvatarPublisher
from .remote import DEFAULT_RENDER_AGENT_NAME, RenderRequest, cancel_dispatch, dispatch_render_worker

AvatarMode = Literal["in-process", "remote"]
AvatarEvent = Literal["notice"]


class AvatarSession(_BaseAvatarSession[AvatarEvent]):
    def __init__(
        self,
        options: AvatarOptions | None = None,
        *,
        mode: AvatarMode = "in-process",
        render_agent_name: str = DEFAULT_RENDER_AGENT_NAME,
        render_join_timeout: float = 10.0,
    ) -> None:
        """`options`: how the avatar is rendered (default: the "default" pack, engine and encoder chosen
        automatically, the pack's size).

        `mode="remote"`: a render worker registered as `render_agent_name` renders the
        avatar; `start` raises `RenderWorkerError` if it has not joined within
        `render_join_timeout` seconds, before the session's audio output is touched.
        """
        super().__init__()
        self._opts = options or AvatarOptions()
        self._mode = mode
        self._render_agent_name = render_agent_name
        self._render_join_timeout = render_join_timeout
        self._publisher = AvatarPublisher(self._opts, on_notice=lambda sentence: self.emit("notice", sentence))
        self._identity = ""
        self._render_request: RenderRequest | None = None
        self._replacement: api.AgentDispatch | None = None
        self._replacing: asyncio.Task[None] | None = None
        self._muted_for_replacement = False
        self._closing = False

    @property
    def avatar_identity(self) -> str:
        return self._identity

    @property
    def provider(self) -> str:
        return "musetalk"

    @property
    def notices(self) -> list[str]:
        return self._publisher.notices

    @property
    def pacer(self) -> AvatarPacer | None:
        return self._publisher.pacer

    def prepare(self) -> None:
        """Begin preparing the avatar (engine, pack, encoder) before there is a room: a job that calls
        this before `ctx.connect()` prepares while it connects, and `start` then only publishes.
        Optional; a failure surfaces from `start`. Nothing to do in remote mode (the render worker prepares)."""
        if self._mode == "in-process":
            self._publisher.prepare()

    async def start(self, agent_session: AgentSession[Any], room: rtc.Room) -> None:
        """Prepare the avatar (unless `prepare` began it), publish its tracks and take over the session's
        audio output."""
        if self._mode == "remote":
            await self._start_remote(agent_session, room)
            return
        self._identity = room.local_participant.identity
        pacer = await self._publisher.start(room)
        agent_session.output.audio = AvatarAudioOutput(pacer, sample_rate=self._opts.sample_rate)
        await super().start(agent_session, room)

    async def _start_remote(self, agent_session: AgentSession[Any], room: rtc.Room) -> None:
        request = RenderRequest.for_agent(room.local_participant.identity, self._opts)
        self._identity = request.avatar_identity
        dispatch = await dispatch_render_worker(room, request, self._render_agent_name)
        await super().start(agent_session, room)
        try:
            await self.wait_for_join(timeout=self._render_join_timeout)
        except TimeoutError:
            await cancel_dispatch(dispatch)
            raise RenderWorkerError(
                f"render worker {self._render_agent_name!r} did not publish the avatar "
                f"within {self._render_join_timeout:g} s"
            ) from None
        agent_session.output.audio = DataStreamAudioOutput(
            room, destination_identity=self._identity, sample_rate=self._opts.sample_rate, wait_playback_start=True
        )
        self._render_request = request
        room.on("participant_disconnected", self._on_participant_disconnected)
        room.on("track_published", self._on_track_published)

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        """The render worker left while the session goes on: text-only replies until another takes over.

        The output keeps streaming to the same identity, which the replacement joins as; audio
        stays off meanwhile so no reply waits for playback events from nobody.
        """
        if participant.identity != self._identity or self._closing or self._agent_session is None:
            return
        logger.error("the render worker left mid-session; dispatching another", extra={"identity": self._identity})
        self._agent_session.interrupt(force=True)
        self._agent_session.output.set_audio_enabled(False)
        self._muted_for_replacement = True
        self.emit("notice", "the avatar's render worker left; replies are text-only until another one takes over")
        self._replacing = asyncio.create_task(self._dispatch_replacement())

    async def _dispatch_replacement(self) -> None:
        assert self._room is not None and self._render_request is not None
        try:
            self._replacement = await dispatch_render_worker(self._room, self._render_request, self._render_agent_name)
        except RenderWorkerError as e:
            logger.error("%s; the session stays text-only", e)
            self.emit("notice", "no render worker could be dispatched; replies stay text-only")

    def _on_track_published(self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant) -> None:
        if (
            participant.identity != self._identity
            or publication.kind != rtc.TrackKind.KIND_VIDEO
            or self._agent_session is None
            or not self._muted_for_replacement
        ):
            return
        logger.info("a new render worker took over the avatar", extra={"identity": self._identity})
        self._replacement = None
        self._muted_for_replacement = False
        self._agent_session.output.set_audio_enabled(True)
        self.emit("notice", "a new render worker took over the avatar; replies are spoken again")

    async def aclose(self) -> None:
        self._closing = True
        if self._room is not None:
            self._room.off("participant_disconnected", self._on_participant_disconnected)
            self._room.off("track_published", self._on_track_published)
        if self._replacing is not None:
            await self._replacing
        if self._replacement is not None:
            await cancel_dispatch(self._replacement)
        await self._publisher.aclose()
        await super().aclose()
