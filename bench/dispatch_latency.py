"""Dispatch → agent joined, and dispatch → first agent track (the avatar) visible to a client.

Real livekit-server, real worker (`python -m agent start`, offline profile, CPU
avatar), N explicit dispatches one after another, each into a fresh room where a
client already waits.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from _common import json_arg_parser, machine, print_table, summary, write_json
from livekit import api, rtc

from support.stack import start_livekit_server, start_worker


async def one_dispatch(server, agent_name: str, room_name: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    room = rtc.Room()
    joined, track = asyncio.Event(), asyncio.Event()
    marks: dict[str, float] = {}

    @room.on("participant_connected")
    def _joined(p: rtc.RemoteParticipant) -> None:
        if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT and not joined.is_set():
            marks["join"] = time.perf_counter()
            joined.set()

    @room.on("track_published")
    def _track(pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant) -> None:
        if (
            p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
            and pub.kind == rtc.TrackKind.KIND_VIDEO
            and not track.is_set()
        ):
            marks["track"] = time.perf_counter()
            track.set()

    await room.connect(server.url, server.token(room_name, "bench-client"))
    async with server.api() as lkapi:
        start = time.perf_counter()
        await lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=agent_name, room=room_name)
        )
    await asyncio.wait_for(asyncio.gather(joined.wait(), track.wait()), timeout=30)
    await room.disconnect()
    return (marks["join"] - start) * 1000, (marks["track"] - start) * 1000


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-dispatch-"))
    server = start_livekit_server(logs)
    worker = start_worker(server, logs, name="bench", extra_env={"STREAMING_AVATAR_IDLE_PROCESSES": "2"})
    try:
        await one_dispatch(server, worker.agent_name, "warmup")
        joins, tracks = [], []
        for i in range(args.n):
            join_ms, track_ms = await one_dispatch(server, worker.agent_name, f"bench-{i}")
            joins.append(join_ms)
            tracks.append(track_ms)
            await asyncio.sleep(1.0)  # let the previous job's process go back to the idle pool
    finally:
        worker.stop()
        server.stop()
    result = {
        "dispatch_to_join_ms": summary(joins),
        "dispatch_to_track_ms": summary(tracks),
        "n": args.n,
        "machine": machine(),
    }
    print_table(
        [
            (
                "dispatch → agent joined",
                str(result["dispatch_to_join_ms"]["p50"]),
                str(result["dispatch_to_join_ms"]["p95"]),
            ),
            (
                "dispatch → avatar video track",
                str(result["dispatch_to_track_ms"]["p50"]),
                str(result["dispatch_to_track_ms"]["p95"]),
            ),
        ],
        ("what (ms)", "p50", "p95"),
    )
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
