"""Remote mode, the voice side: dispatch a render worker and stream the agent's speech to it.

The render worker is a LiveKit agent of its own (`agent_name`, default
`streaming-avatar-render`) that joins the room as `avatar_identity` with the
attribute `lk.publish_on_behalf` = the agent's identity and publishes the
avatar's video and audio. Speech goes to it and playback events come back
through LiveKit Agents' data-stream avatar protocol (`DataStreamAudioOutput`
here, `DataStreamAudioReceiver` there), so GPU render workers scale apart
from CPU voice workers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from livekit import api, rtc
from livekit.agents import get_job_context

from .engine_choice import EngineChoice
from .errors import RenderWorkerError
from .log import logger
from .renderer import AvatarSessionOptions, VideoEncoderChoice

DEFAULT_RENDER_AGENT_NAME = "streaming-avatar-render"
AVATAR_IDENTITY_SUFFIX = "-avatar"


@dataclass(frozen=True)
class RenderRequest:
    """The render worker's job metadata: whom it renders for, and how."""

    agent_identity: str
    avatar_identity: str
    avatar: str
    engine: EngineChoice
    video_encoder: VideoEncoderChoice
    width: int | None
    height: int | None
    fps: int | None
    sample_rate: int
    idle_fps: int | None = None

    @classmethod
    def for_agent(cls, agent_identity: str, opts: AvatarSessionOptions) -> RenderRequest:
        return cls(
            agent_identity=agent_identity,
            avatar_identity=agent_identity + AVATAR_IDENTITY_SUFFIX,
            avatar=opts.avatar,
            engine=opts.engine,
            video_encoder=opts.video_encoder,
            width=opts.width,
            height=opts.height,
            fps=opts.fps,
            sample_rate=opts.sample_rate,
            idle_fps=opts.idle_fps,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RenderRequest:
        try:
            data = json.loads(text)
            # Fields with defaults may be missing (a voice worker of an older version).
            request = cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
            request.session_options(avatars_dir=None)
        except (ValueError, TypeError, KeyError) as e:
            raise RenderWorkerError(f"render job metadata is not a valid render request: {e}") from e
        return request

    def session_options(self, *, avatars_dir: Path | None, models_dir: Path | None = None) -> AvatarSessionOptions:
        return AvatarSessionOptions(
            avatar=self.avatar,
            engine=self.engine,
            video_encoder=self.video_encoder,
            width=self.width,
            height=self.height,
            fps=self.fps,
            idle_fps=self.idle_fps,
            sample_rate=self.sample_rate,
            avatars_dir=avatars_dir,
            models_dir=models_dir,
        )


@asynccontextmanager
async def _server_api() -> AsyncIterator[api.LiveKitAPI]:
    """The job's server API client, or one from LIVEKIT_URL/LIVEKIT_API_KEY/LIVEKIT_API_SECRET."""
    job_ctx = get_job_context(required=False)
    if job_ctx is not None:
        yield job_ctx.api
        return
    async with api.LiveKitAPI() as lkapi:
        yield lkapi


async def dispatch_render_worker(room: rtc.Room, request: RenderRequest, agent_name: str) -> api.AgentDispatch:
    try:
        async with _server_api() as lkapi:
            return await lkapi.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name=agent_name, room=room.name, metadata=request.to_json())
            )
    except Exception as e:
        raise RenderWorkerError(f"could not dispatch render worker {agent_name!r}: {e}") from e


async def cancel_dispatch(dispatch: api.AgentDispatch) -> None:
    """So a render worker that comes late does not join a session that gave up on it."""
    try:
        async with _server_api() as lkapi:
            await lkapi.agent_dispatch.delete_dispatch(dispatch.id, dispatch.room)
    except Exception as e:
        logger.warning("could not cancel the render worker dispatch: %s", e, extra={"dispatch": dispatch.id})
