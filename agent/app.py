"""The worker: an AgentServer that runs one avatar conversation per dispatched job."""

from __future__ import annotations

import logging

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess
from livekit.plugins import silero

from .config import WorkerSettings
from .metadata import parse_dispatch_metadata
from .providers import build_llm, build_tts, plan_voice_pipeline
from .room_notices import publish_notices

logger = logging.getLogger("streaming-avatar")

DEFAULT_INSTRUCTIONS = (
    "You are a friendly talking avatar in a video call. Answer briefly, in the user's language, "
    "in plain spoken sentences without markdown or emoji."
)

settings = WorkerSettings.from_env()


def _load(server: AgentServer) -> float:
    """Load = active avatar sessions / capacity, so a full worker stops taking jobs."""
    return min(1.0, len(server.active_jobs) / max(1, settings.capacity))


server = AgentServer(
    load_fnc=_load,
    load_threshold=settings.load_threshold,
    num_idle_processes=settings.num_idle_processes,
    port=settings.http_port,
)


def prewarm(proc: JobProcess) -> None:
    proc.userdata["vad"] = silero.VAD.load()


server.setup_fnc = prewarm


def known_avatars() -> set[str]:
    if not settings.avatars_dir.is_dir():
        return set()
    return {p.name for p in settings.avatars_dir.iterdir() if (p / "manifest.json").is_file()}


@server.rtc_session(agent_name=settings.agent_name)
async def entrypoint(ctx: JobContext) -> None:
    parsed = parse_dispatch_metadata(ctx.job.metadata, known_avatars=known_avatars())
    metadata = parsed.metadata
    for problem in parsed.problems:
        logger.warning("dispatch metadata: %s", problem, extra={"room": ctx.room.name})

    plan = plan_voice_pipeline(settings, metadata)
    for notice in plan.notices:
        logger.warning("voice pipeline: %s", notice, extra={"room": ctx.room.name})

    await ctx.connect()
    session = AgentSession(
        vad=ctx.proc.userdata["vad"],
        llm=build_llm(plan, settings, metadata),
        tts=build_tts(plan, metadata, voices={}),
    )
    session.on("close", lambda ev: ctx.shutdown(reason=f"agent session closed: {ev.reason}"))
    await session.start(
        agent=Agent(instructions=metadata.instructions or DEFAULT_INSTRUCTIONS),
        room=ctx.room,
    )
    await publish_notices(ctx.room, parsed.problems + plan.notices)
