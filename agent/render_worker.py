"""The render worker (`STREAMING_AVATAR_ROLE=render`): renders avatars for voice workers in remote mode.

A voice worker with `STREAMING_AVATAR_AVATAR_MODE=remote` dispatches this
agent into its room with a `musetalk.RenderRequest` as job metadata. The job
joins as the avatar's identity with `lk.publish_on_behalf` = the agent's
identity, publishes the avatar's video and audio, and ends when the agent
leaves (or removes it).
"""

from __future__ import annotations

import logging
from functools import partial

from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobProcess, JobRequest
from livekit.agents.types import ATTRIBUTE_PUBLISH_ON_BEHALF
from livekit.plugins import musetalk

from .config import WorkerSettings
from .memory import track_session
from .prewarm import wait_for_calm_cpu, warm_avatar
from .room_notices import NoticeBoard

logger = logging.getLogger("streaming-avatar")


def install_render_worker(server: AgentServer, settings: WorkerSettings) -> None:
    server.setup_fnc = partial(prewarm_render, settings)
    server.rtc_session(
        partial(render_entrypoint, settings), agent_name=settings.render_agent_name, on_request=accept_render_job
    )


def prewarm_render(settings: WorkerSettings, proc: JobProcess) -> None:
    wait_for_calm_cpu()
    try:
        logger.info("lip-sync engine: %s", musetalk.prewarm_engine(settings.engine, settings.engine_config))
    except musetalk.MuseTalkPluginError as e:
        logger.error("lip-sync engine unavailable, render jobs will fail: %s", e)
        return
    warm_avatar(settings)


async def accept_render_job(req: JobRequest) -> None:
    """Join as the avatar the voice agent waits for, marked as publishing on its behalf."""
    try:
        request = musetalk.RenderRequest.from_json(req.job.metadata)
    except musetalk.RenderWorkerError as e:
        logger.error("rejecting render job: %s", e, extra={"room": req.room.name})
        await req.reject()
        return
    await req.accept(identity=request.avatar_identity, attributes={ATTRIBUTE_PUBLISH_ON_BEHALF: request.agent_identity})


async def render_entrypoint(settings: WorkerSettings, ctx: JobContext) -> None:
    track_session(ctx)
    request = musetalk.RenderRequest.from_json(ctx.job.metadata)
    await ctx.connect(auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)

    def on_participant_disconnected(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == request.agent_identity:
            ctx.shutdown(reason="the agent left")

    ctx.room.on("participant_disconnected", on_participant_disconnected)
    if request.agent_identity not in ctx.room.remote_participants:
        ctx.shutdown(reason="the agent left before its avatar joined")
        return

    renderer = musetalk.RemoteAvatarRenderer(ctx.room, request, settings.with_local_paths(request.options))
    ctx.add_shutdown_callback(renderer.aclose)
    try:
        await renderer.start()
    except musetalk.MuseTalkPluginError as e:
        logger.error("cannot render the avatar: %s", e, extra={"room": ctx.room.name})
        ctx.shutdown(reason=f"avatar unavailable: {e}")
        return
    await NoticeBoard(ctx.room).publish(renderer.notices)
