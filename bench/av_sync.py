"""A/V offset at a subscriber, and a late joiner's time to its first decoded frame.

The avatar says syllables separated by pauses ("pa. pa. pa."), so the received
audio has sharp onsets. For each audio onset (arrival clock of the LiveKit
Python SDK's AudioStream) the nearest mouth opening in the received video
(VideoStream arrival clock) gives one offset: positive = video late. The
cross-correlation of the mouth-motion curve with the audio envelope is a second,
differently biased measure: a frame is held for 40 ms from the middle of its
audio, which reads as ~+20 ms there, while the mouth's threshold crossing leads
the audio's (it opens on the first loud part of a frame), which reads early.
During each reply a second client joins; its first decoded frame needs a
keyframe, which the encoder makes on the subscriber's request.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import json_arg_parser, machine, print_table, summary, write_json
from livekit import rtc
from support.lipsync import audio_envelope, closed_mouth, default_mouth_box, mouth_change, onsets, paired_offsets
from support.rooms import agent_participant, record_agent, wait_for
from support.stack import start_livekit_server, start_worker

PROMPT = "pa. pa. pa. pa. pa. pa. pa. pa"


async def late_join_first_frame_ms(server, room_name: str, identity: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(join → first decoded frame, video track subscribed → first decoded frame) in ms."""
    room = rtc.Room()
    subscribed: list[float] = []
    room.on(
        "track_subscribed",
        lambda track, _pub, _p: subscribed.append(time.monotonic()) if track.kind == rtc.TrackKind.KIND_VIDEO else None,
    )
    media = record_agent(room)
    started = time.monotonic()
    await room.connect(server.url, server.token(room_name, identity))
    await wait_for(lambda: media.video, timeout=15, interval=0.005, what="late joiner's first frame")
    first = media.video[0][0]
    media.stop()
    await room.disconnect()
    return (first - started) * 1000, (first - subscribed[0]) * 1000


async def jitter_buffer_ms(room: rtc.Room) -> dict[str, float]:
    """Mean jitter-buffer delay of the agent's audio and video at this subscriber (WebRTC inbound-rtp stats):
    how much of the arrival offset the subscriber's own buffering could explain."""
    delays = {}
    for participant in room.remote_participants.values():
        for publication in participant.track_publications.values():
            if publication.track is None:
                continue
            for stats in await publication.track.get_stats():
                if stats.WhichOneof("stats") == "inbound_rtp":
                    inbound = stats.inbound_rtp.inbound
                    kind = "audio" if publication.kind == rtc.TrackKind.KIND_AUDIO else "video"
                    delays[kind] = round(1000 * inbound.jitter_buffer_delay / max(1, inbound.jitter_buffer_emitted_count), 1)
    return delays


def xcorr_offset_ms(times: np.ndarray, change: np.ndarray, env_times: np.ndarray, env: np.ndarray) -> float:
    """Lag (video − audio) that best aligns the mouth-motion curve with the audio envelope."""
    grid = np.arange(max(times[0], env_times[0]), min(times[-1], env_times[-1]), 0.01)
    mouth = change[np.clip(np.searchsorted(times, grid, side="right") - 1, 0, len(change) - 1)]
    audio = np.interp(grid, env_times, env)
    lags = range(-30, 31)
    scores = [np.corrcoef(mouth[max(0, k):len(grid) + min(0, k)], audio[max(0, -k):len(grid) - max(0, k)])[0, 1] for k in lags]
    return float(list(lags)[int(np.argmax(scores))] * 10)


def soak_drift_ms(times: np.ndarray, change: np.ndarray, env_times: np.ndarray, env: np.ndarray) -> dict[str, float]:
    """Cross-correlation offset over the first and the last minute of the recording: drift shows as a change."""

    def offset_between(start: float, end: float) -> float:
        v, a = (times >= start) & (times < end), (env_times >= start) & (env_times < end)
        return xcorr_offset_ms(times[v], change[v], env_times[a], env[a])

    return {
        "duration_s": round(float(times[-1] - times[0]), 1),
        "first_minute_xcorr_ms": offset_between(times[0], times[0] + 60),
        "last_minute_xcorr_ms": offset_between(times[-1] - 60, times[-1]),
    }


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="then keep it talking this long (drift check)")
    args = parser.parse_args()
    x0, y0, x1, y1 = default_mouth_box()
    box = (0, 0, x1 - x0, y1 - y0)  # frames are recorded as mouth crops
    logs = Path(tempfile.mkdtemp(prefix="bench-avsync-"))
    server = start_livekit_server(logs)
    worker = start_worker(server, logs, name="avsync")
    room = rtc.Room()
    try:
        await room.connect(server.url, server.token("avsync", "listener"))
        media = record_agent(room, crop=(x0, y0, x1, y1))
        await server.dispatch(worker.agent_name, "avsync", '{"language": "en"}')
        agent = await wait_for(lambda: agent_participant(room), what="agent")
        await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", what="agent listening")
        await asyncio.sleep(1.0)
        idle_end = time.monotonic()
        late_joins: list[tuple[float, float]] = []
        for turn in range(args.turns):
            await room.local_participant.send_text(PROMPT, topic="lk.chat")
            await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=30, what="speaking")
            await asyncio.sleep(0.5)
            late_joins.append(await late_join_first_frame_ms(server, "avsync", f"late-{turn}"))
            await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="listening")
            await asyncio.sleep(0.5)
        soak_end = time.monotonic() + args.soak_minutes * 60
        while time.monotonic() < soak_end:
            await room.local_participant.send_text(PROMPT, topic="lk.chat")
            await wait_for(lambda: agent.attributes.get("lk.agent.state") == "speaking", timeout=30, what="speaking")
            await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=60, what="listening")
            await asyncio.sleep(0.3)
        jitter_buffers = await jitter_buffer_ms(room)
        media.stop()
    finally:
        await room.disconnect()
        worker.stop()
        server.stop()

    times, change = mouth_change(media, box, closed_mouth(media.video_between(0, idle_end), box))
    env_times, env = audio_envelope(media)
    audio_on = onsets(env_times, env, threshold=0.15 * env.max(), quiet_s=0.12)
    video_on = onsets(times, change, threshold=0.25 * change.max(), quiet_s=0.12)
    offsets_ms = np.array(paired_offsets(audio_on, video_on)) * 1000
    join_ms, subscribed_ms = zip(*late_joins)
    drift = soak_drift_ms(times, change, env_times, env) if args.soak_minutes else None
    result = {
        "av_offset_ms": {
            "mean": round(float(offsets_ms.mean()), 1),
            "p95_abs": round(float(np.percentile(np.abs(offsets_ms), 95)), 1),
            "median": round(float(np.median(offsets_ms)), 1),
            "xcorr": xcorr_offset_ms(times, change, env_times, env),
        },
        "onsets": {"audio": len(audio_on), "video": len(video_on), "paired": len(offsets_ms)},
        "subscriber_jitter_buffer_ms": jitter_buffers,
        "soak": drift,
        "late_join_first_frame_ms": summary(list(join_ms)),
        "late_join_subscribed_to_first_frame_ms": summary(list(subscribed_ms)),
        "machine": machine(),
    }
    print_table(
        [
            ("A/V offset (video − audio), mean", str(result["av_offset_ms"]["mean"])),
            ("A/V offset, median", str(result["av_offset_ms"]["median"])),
            ("|A/V offset| p95", str(result["av_offset_ms"]["p95_abs"])),
            ("A/V offset by cross-correlation", str(result["av_offset_ms"]["xcorr"])),
            ("onsets paired / audio / video", f"{len(offsets_ms)} / {len(audio_on)} / {len(video_on)}"),
            ("subscriber jitter buffer audio / video", f"{jitter_buffers.get('audio')} / {jitter_buffers.get('video')}"),
            *(
                [("A/V offset by cross-correlation, first minute", str(drift["first_minute_xcorr_ms"])),
                 ("A/V offset by cross-correlation, last minute", str(drift["last_minute_xcorr_ms"]))]
                if drift else []
            ),
            ("late joiner first frame p50", str(result["late_join_first_frame_ms"]["p50"])),
            ("late joiner first frame p95", str(result["late_join_first_frame_ms"]["p95"])),
            ("late joiner subscribed → first frame p50", str(result["late_join_subscribed_to_first_frame_ms"]["p50"])),
            ("late joiner subscribed → first frame p95", str(result["late_join_subscribed_to_first_frame_ms"]["p95"])),
        ],
        ("metric (ms)", "value"),
    )
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
