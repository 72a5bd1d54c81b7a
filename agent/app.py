"""The worker: an AgentServer that runs one avatar conversation per dispatched job."""

from __future__ import annotations

import logging

from livekit.agents import NOT_GIVEN, Agent, AgentServer, AgentSession, JobContext, JobProcess, room_io
from livekit.plugins import faster_whisper, musetalk, silero

from .chat_guard import ChatGuard
from .config import WorkerSettings
from .memory import track_session
from .metadata import parse_dispatch_metadata
from .provider_guards import report_provider_errors
from .providers import build_llm, build_stt, build_tts, pack_voices, plan_voice_pipeline
from .render_worker import install_render_worker
from .room_controls import install_room_controls
from .room_notices import NoticeBoard
from .turn_metrics import TurnLatencyLog
from .turn_taking import TURN_HANDLING, VAD_MIN_SILENCE_S
from .whisper_model import load_whisper_model, whisper_language_problem

logger = logging.getLogger("streaming-avatar")

DEFAULT_INSTRUCTIONS = (
    "You are a friendly talking avatar in a video call. Answer briefly, in the user's language, "
    "in plain spoken sentences without markdown or emoji."
)

settings = WorkerSettings.from_env()
faster_whisper.register_model_download(settings.whisper_model)
musetalk.register_download(settings.engine, models_dir=settings.models_dir)


def _load(server: AgentServer) -> float:
    """Load = active avatar sessions / capacity, so a full worker stops taking jobs."""
    return min(1.0, len(server.active_jobs) / max(1, settings.capacity))


server = AgentServer(
    load_fnc=_load,
    load_threshold=settings.load_threshold,
    num_idle_processes=settings.num_idle_processes,
    port=settings.http_port,
    job_executor_type=settings.job_executor,
    prometheus_port=settings.metrics_port,
    # prewarm loads the STT and lip-sync models; MuseTalk's warm-up takes longer than the default 10 s
    initialize_process_timeout=settings.process_init_timeout,
    drain_timeout=settings.drain_timeout,
)


def prewarm(proc: JobProcess) -> None:
    try:
        logger.info("lip-sync engine: %s", musetalk.prewarm_engine(settings.engine, settings.engine_config))
    except musetalk.MuseTalkPluginError as e:
        logger.error("lip-sync engine unavailable, jobs will run voice-only: %s", e)
    proc.userdata["vad"] = silero.VAD.load(min_silence_duration=VAD_MIN_SILENCE_S)
    proc.userdata["whisper_model_dir"] = None
    proc.userdata["whisper_problem"] = None
    try:
        proc.userdata["whisper_model_dir"] = load_whisper_model(settings.whisper_model, settings.cache_dir)
    except faster_whisper.ModelNotFoundError as e:
        logger.error("speech input disabled on this worker: %s", e)
        proc.userdata["whisper_problem"] = str(e)


async def entrypoint(ctx: JobContext) -> None:
    track_session(ctx)
    parsed = parse_dispatch_metadata(ctx.job.metadata, known_avatars=set(musetalk.list_pack_ids(settings.avatar_dirs)))
    metadata = parsed.metadata
    for problem in parsed.problems:
        logger.warning("dispatch metadata: %s", problem, extra={"room": ctx.room.name})

    # A language Whisper does not know (e.g. "xh") makes the session text-only instead of crashing the job.
    whisper_problem = ctx.proc.userdata["whisper_problem"] or whisper_language_problem(metadata.language)
    plan = plan_voice_pipeline(settings, metadata, whisper_problem=whisper_problem)
    for notice in plan.notices:
        logger.warning("voice pipeline: %s", notice, extra={"room": ctx.room.name})

    await ctx.connect()
    vad = ctx.proc.userdata["vad"]
    speech_input = build_stt(plan, metadata, whisper_model_dir=ctx.proc.userdata["whisper_model_dir"], vad=vad)
    session: AgentSession[None] = AgentSession(
        vad=vad,
        stt=speech_input or NOT_GIVEN,
        llm=build_llm(plan, settings, metadata),
        tts=build_tts(
            plan,
            metadata,
            voices=pack_voices(metadata.avatar, metadata.language, settings.avatar_dirs),
            faults=settings.fault_switch,
        ),
        turn_handling=TURN_HANDLING,
    )
    session.on("close", lambda ev: ctx.shutdown(reason=f"agent session closed: {ev.reason}"))
    TurnLatencyLog(session)
    notices = NoticeBoard(ctx.room)
    report_provider_errors(session, notices)
    avatar_notices = await start_avatar(session, ctx, metadata.avatar, notices)
    await session.start(
        agent=Agent(instructions=metadata.instructions or DEFAULT_INSTRUCTIONS),
        room=ctx.room,
        room_options=room_io.RoomOptions(
            close_on_disconnect=False, text_input=room_io.TextInputOptions(text_input_cb=ChatGuard(notices.post))
        ),
        session_host=False,  # RemoteSession would let any participant read and drive the session
    )
    install_room_controls(ctx.room, session, departure_grace=settings.departure_grace)
    await notices.publish(parsed.problems + plan.notices + avatar_notices)


async def start_avatar(session: AgentSession[None], ctx: JobContext, avatar_id: str, notices: NoticeBoard) -> list[str]:
    """Give the agent its face; if no avatar can run, the job goes on voice-only and says why.

    Returns the notices of the start; later ones (a remote render worker lost or replaced) go to `notices`.
    """
    avatar = musetalk.AvatarSession(
        settings.avatar_options(avatar_id),
        mode=settings.avatar_mode,
        render_agent_name=settings.render_agent_name,
        render_join_timeout=settings.render_join_timeout,
    )
    try:
        await avatar.start(session, room=ctx.room)
    except musetalk.MuseTalkPluginError as e:
        logger.error("avatar unavailable, continuing voice-only: %s", e, extra={"room": ctx.room.name})
        await avatar.aclose()
        return [f"avatar unavailable ({e}); continuing with voice only"]
    avatar.on("notice", notices.post)
    return avatar.notices


if settings.role == "render":
    install_render_worker(server, settings)
else:
    server.setup_fnc = prewarm
    server.rtc_session(entrypoint, agent_name=settings.agent_name)
