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
from dataclasses import dataclass

from livekit import api, rtc
from livekit.agents import get_job_context

from .errors import RenderWorkerError
from .log import logger
from .options import AvatarOptions

DEFAULT_RENDER_AGENT_NAME = "streaming-avatar-render"
AVATAR_IDENTITY_SUFFIX = "-avatar"


@dataclass(frozen=True)
class RenderRequest:
    """The render worker's job metadata: whom it renders for, and how.

    On the wire the options' portable fields sit beside the identities in one flat JSON object.
    """

    agent_identity: str
    avatar_identity: str
    options: AvatarOptions

    @classmethod
    def for_agent(cls, agent_identity: str, options: AvatarOptions) -> RenderRequest:
        return cls(agent_identity, agent_identity + AVATAR_IDENTITY_SUFFIX, options)

    def to_json(self) -> str:
        return json.dumps(
            {"agent_identity": self.agent_identity, "avatar_identity": self.avatar_identity, **self.options.portable()}
        )

    @classmethod
    def from_json(cls, text: str) -> RenderRequest:
        """Options a voice worker of an older version did not send keep their defaults."""
        try:
            data = json.loads(text)
            return cls(str(data["agent_identity"]), str(data["avatar_identity"]), AvatarOptions.from_portable(data))
        except (ValueError, TypeError, KeyError) as e:
            raise RenderWorkerError(f"render job metadata is not a valid render request: {e}") from e


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
