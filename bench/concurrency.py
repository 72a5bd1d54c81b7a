"""How many concurrently speaking avatars this machine sustains at 25 fps.

For N = 1, 2, 4, ... sessions: N rooms, each with the avatar dispatched and a
subscribing client; every avatar is made to talk continuously, and each client
counts frames over a measuring window. A session is on time when ≥ 99 % of the
frames the media clock should have produced arrived, and ≥ 99 % of them arrived
no more than two frame periods later than that session's typical delay after
their capture time (what a player with an 80 ms jitter buffer could show
without a stall). The worker's process tree gives RSS and CPU per session; the
CPU that livekit-server and this process (the subscribers: WebRTC receive and H.264
decode) take over the same window shows what is left for workers on this machine.

Before they talk, the same sessions are measured listening (idle): worker CPU and
the frame rate each client receives. `--idle-fps 12` runs the worker with
STREAMING_AVATAR_VIDEO_IDLE_FPS=12 (one idle frame in two at 25 fps).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from _common import inbound_rtp_stats, json_arg_parser, machine, print_table, write_json
from livekit import rtc

from support.rooms import ReceivedMedia, agent_participant, record_agent, wait_for
from support.stack import LiveKitServer, Worker, start_livekit_server, start_worker

FPS = 25
TALK = "Tell me everything about the ocean, the sky, the stars and the moon"


def process_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_usage(pid: int) -> tuple[float, float]:
    """(RSS bytes, CPU seconds) of a process and its children (the worker's are its job processes)."""
    rss = cpu = 0.0
    for proc in process_tree(pid):
        try:
            rss += proc.memory_info().rss
            times = proc.cpu_times()
            cpu += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return rss, cpu


async def run_level(server: LiveKitServer, worker: Worker, n: int, window_s: float) -> dict[str, float]:
    rooms, medias, agents = [], [], []
    for i in range(n):
        room = rtc.Room()
        await room.connect(server.url, server.token(f"conc-{n}-{i}", "listener"))
        medias.append(record_agent(room, images=False))
        rooms.append(room)
        await server.dispatch(worker.agent_name, f"conc-{n}-{i}", '{"language": "en"}')
    for room in rooms:
        agent = await wait_for(lambda room=room: agent_participant(room), timeout=60, what="agent")
        await wait_for(lambda a=agent: a.attributes.get("lk.agent.state") == "listening", timeout=60, what="listening")
        agents.append(agent)
    idle = await measure_idle(worker, medias, window_s / 2)
    for room in rooms:
        await room.local_participant.send_text(TALK, topic="lk.chat")
    await asyncio.gather(
        *(
            wait_for(lambda a=a: a.attributes.get("lk.agent.state") == "speaking", timeout=60, what="speaking")
            for a in agents
        )
    )
    await asyncio.sleep(1.0)
    received_before = [await video_frames_received(room) for room in rooms]
    start, end, cpu_pct, rss, others_pct = await measure_window(worker, window_s, server)
    received = [await video_frames_received(room) - before for room, before in zip(rooms, received_before, strict=True)]
    on_time, delivered, punctual = [], [], []
    for media in medias:
        frames = np.array([(t, ts / 1e6) for t, ts, _ in media.video if start <= t < end]).reshape(-1, 2)
        delay = frames[:, 0] - frames[:, 1]
        lateness = delay - np.median(delay) if len(delay) else np.array([np.inf])
        delivered.append(len(frames) / (window_s * FPS))
        punctual.append(float(np.mean(lateness <= 2.0 / FPS)))
        on_time.append(delivered[-1] >= 0.99 and punctual[-1] >= 0.99)
        media.stop()
    for room in rooms:
        await room.disconnect()
    await asyncio.sleep(3.0)  # jobs end when their room empties
    return {
        "sessions": n,
        "sessions_on_time": int(sum(on_time)),
        "worst_delivered": round(min(delivered), 3),
        "worst_punctual": round(min(punctual), 3),
        # Frames the subscriber's WebRTC received: below `worst_delivered` only if the Python client lost some.
        "worst_received_by_webrtc": round(min(received) / (window_s * FPS), 3),
        "rss_mb": rss / 2**20,
        "cpu_pct": cpu_pct,
        "server_cpu_pct": others_pct["server"],
        "subscribers_cpu_pct": others_pct["subscribers"],
        **idle,
    }


async def video_frames_received(room: rtc.Room) -> int:
    """The subscriber's WebRTC count of video frames received from the agent."""
    video = (await inbound_rtp_stats(room)).get("video")
    return video.frames_received if video is not None else 0


async def measure_idle(worker: Worker, medias: list[ReceivedMedia], window_s: float) -> dict[str, float]:
    """Worker CPU and the lowest frame rate a client receives while every avatar listens."""
    await asyncio.sleep(1.0)
    start, end, cpu_pct, _, _ = await measure_window(worker, window_s)
    fps = [sum(start <= t < end for t, _, _ in media.video) / (end - start) for media in medias]
    return {"idle_cpu_pct": cpu_pct, "idle_fps_received_min": min(fps)}


async def measure_window(
    worker: Worker, window_s: float, server: LiveKitServer | None = None
) -> tuple[float, float, float, float, dict[str, float]]:
    """Wait `window_s`: (its start, its end, the worker tree's CPU % over it, RSS bytes at its end,
    CPU % of livekit-server and of this process over it when `server` is given)."""
    others = {"server": psutil.Process(server.process.pid), "subscribers": psutil.Process()} if server else {}
    start = time.monotonic()
    _, cpu_start = tree_usage(worker.process.pid)
    others_start = {name: sum(proc.cpu_times()[:2]) for name, proc in others.items()}
    await asyncio.sleep(window_s)
    end = time.monotonic()
    rss, cpu_end = tree_usage(worker.process.pid)
    others_pct = {
        name: 100 * (sum(proc.cpu_times()[:2]) - others_start[name]) / (end - start) for name, proc in others.items()
    }
    return start, end, 100 * (cpu_end - cpu_start) / (end - start), rss, others_pct


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("--levels", default="1,2,4,6,8,10,12")
    parser.add_argument("--window", type=float, default=8.0)
    parser.add_argument(
        "--executor", choices=["process", "thread"], default="process", help="the worker's job executor"
    )
    parser.add_argument("--idle-fps", type=int, default=0, help="the worker's idle frame rate (0: all frames)")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    server = start_livekit_server(logs)
    worker = start_worker(
        server,
        logs,
        name="concurrency",
        extra_env={
            "STREAMING_AVATAR_CAPACITY": "64",
            "STREAMING_AVATAR_IDLE_PROCESSES": "2",
            "STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES": "12",
            "STREAMING_AVATAR_JOB_EXECUTOR": args.executor,
            "STREAMING_AVATAR_VIDEO_IDLE_FPS": str(args.idle_fps),
        },
    )
    levels = []
    baseline_rss_mb = tree_usage(worker.process.pid)[0] / 2**20
    try:
        for n in (int(x) for x in args.levels.split(",")):
            level = await run_level(server, worker, n, args.window)
            levels.append(level)
            print(
                f"N={n}: {level['sessions_on_time']}/{n} on time (worst: {level['worst_delivered']:.1%} delivered, "
                f"{level['worst_punctual']:.1%} within 80 ms of their usual delay; "
                f"{level['worst_received_by_webrtc']:.1%} received by WebRTC), CPU {level['cpu_pct']:.0f} % "
                f"(livekit-server {level['server_cpu_pct']:.0f} %, subscribers {level['subscribers_cpu_pct']:.0f} %), "
                f"RSS {level['rss_mb']:.0f} MB"
            )
            if level["sessions_on_time"] < n:
                break
    finally:
        worker.stop()
        server.stop()
    passing = [lv for lv in levels if lv["sessions_on_time"] == lv["sessions"]]
    best = max(passing, key=lambda lv: lv["sessions"]) if passing else None
    result = {
        "max_sessions_25fps": best["sessions"] if best else 0,
        "rss_mb_per_session": round((best["rss_mb"] - baseline_rss_mb) / best["sessions"], 1) if best else None,
        "cpu_pct_per_session": round(best["cpu_pct"] / best["sessions"], 1) if best else None,
        "idle_cpu_pct_per_session": round(best["idle_cpu_pct"] / best["sessions"], 1) if best else None,
        "idle_fps": args.idle_fps or FPS,
        "worker_rss_mb_before": round(baseline_rss_mb, 1),
        "executor": args.executor,
        "levels": levels,
        "machine": machine(),
    }
    print_table(
        [
            (
                str(lv["sessions"]),
                str(lv["sessions_on_time"]),
                f"{lv['cpu_pct']:.0f}",
                f"{lv['server_cpu_pct']:.0f}",
                f"{lv['subscribers_cpu_pct']:.0f}",
                f"{lv['idle_cpu_pct']:.0f}",
                f"{lv['idle_fps_received_min']:.1f}",
                f"{lv['rss_mb']:.0f}",
            )
            for lv in levels
        ],
        (
            "sessions",
            "on time",
            "worker CPU %",
            "server CPU %",
            "subscribers CPU %",
            "idle CPU %",
            "idle fps at client (min)",
            "worker RSS MB",
        ),
    )
    print(f"max sessions at 25 fps: {result['max_sessions_25fps']}")
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
