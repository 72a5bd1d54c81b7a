"""A/V offset at a subscriber, and a late joiner's time to its first decoded frame.

The bench plays the voice agent of remote mode: it dispatches a render worker and
streams it speech through LiveKit Agents' data-stream avatar protocol, so it
chooses the audio. That audio is syllables with sharp onsets: a harmonic tone that
starts at full level after silence, with random gaps so the onsets fall anywhere
within a video frame (fixed gaps would always hit the same phase of the 40 ms frame
grid). The offline TTS was used before: its syllables ramp up over 50-90 ms and run
together, which left a few soft onsets per reply.

A subscriber records the avatar. For each audio onset (found to 2 ms in the
samples the SDK's AudioStream delivers in 10 ms chunks at playout pace) the nearest
mouth opening in the video gives one offset, positive = video late. A frame's time
is its render time, when the subscriber's WebRTC schedules it to be shown after its
jitter buffer (`VideoFrameEvent.timestamp_us`, the monotonic clock); the offset by
arrival in Python, about 9 ms earlier, is reported too. At 25 fps a
frame shows 40 ms of audio, so an onset anywhere in it reads as up to ±20 ms:
`quantization_p95_abs_ms` is what that alone makes of the p95.

The cross-correlation of the mouth-motion curve with the audio envelope is a
second, differently biased measure (a frame is held for its whole 40 ms). During
each turn a second client joins; its first decoded frame needs a keyframe, which
the encoder makes on the subscriber's request.

Then the offset per run, as a viewer sees it (`av_offset_runs`): each run a fresh
Python subscriber and a fresh headless Chromium viewer (livekit-client, the package
the web page bundles, playing the tracks in <video>/<audio>) join, watch one turn and
leave, so each run's jitter buffers and A/V synchronisation settle anew. In Chromium
the audio is the remote audio as played, through WebAudio (an AudioWorklet's level per
128-sample quantum at the time it plays, `AudioContext.getOutputTimestamp`), and the
video the frames the <video> presents (`requestVideoFrameCallback`'s
`expectedDisplayTime`), both on the page's clock; the Python subscriber's figures are
by render time, as above.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import inbound_rtp_stats, json_arg_parser, machine, print_table, summary, write_json
from livekit import rtc
from livekit.agents.voice.avatar import DataStreamAudioOutput
from playwright.async_api import Browser, async_playwright

from livekit.plugins.musetalk import AvatarOptions, RenderRequest
from support.browser import launch_chromium, open_viewer, probe, viewer_site
from support.lipsync import audio_envelope, closed_mouth, default_mouth_box, mouth_change
from support.rooms import agent_participant, record_agent, wait_for
from support.stack import LiveKitServer, start_livekit_server, start_worker

ROOM = "avsync"
VOICE_IDENTITY = "bench-voice-agent"
SYLLABLE_S = 0.16
GAP_S = (0.3, 0.5)
CHUNK_S = 0.02
ONSET_WINDOW_S = 0.002  # audio onsets to 2 ms: the 10 ms envelope would blur them by ±5 ms


def syllables(sample_rate: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` syllables: a 140 Hz harmonic tone at full level from its first sample, 10 ms fade out,
    separated by random silences."""
    n = int(SYLLABLE_S * sample_rate)
    t = np.arange(n) / sample_rate
    tone = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 9))
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.01 * sample_rate))
    syllable = (0.35 * 32767 * tone / np.abs(tone).max() * fade).astype(np.int16)
    parts = []
    for _ in range(count):
        parts += [np.zeros(int(rng.uniform(*GAP_S) * sample_rate), np.int16), syllable]
    return np.concatenate(parts)


async def say(output: DataStreamAudioOutput, samples: np.ndarray, sample_rate: int) -> None:
    """Stream `samples` to the render worker as one reply, twice as fast as it plays, as a TTS does."""
    chunk = int(CHUNK_S * sample_rate)
    started = time.monotonic()
    for i, start in enumerate(range(0, len(samples), chunk)):
        piece = samples[start : start + chunk]
        await output.capture_frame(rtc.AudioFrame(piece.tobytes(), sample_rate, 1, len(piece)))
        await asyncio.sleep(max(0.0, started + (i + 1) * CHUNK_S * 0.5 - time.monotonic()))
    output.flush()
    await output.wait_for_playout()


async def late_join_first_frame_ms(server, identity: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(join → first decoded frame, video track subscribed → first decoded frame) in ms."""
    room = rtc.Room()
    subscribed: list[float] = []
    room.on(
        "track_subscribed",
        lambda track, _pub, _p: subscribed.append(time.monotonic()) if track.kind == rtc.TrackKind.KIND_VIDEO else None,
    )
    media = record_agent(room)
    started = time.monotonic()
    await room.connect(server.url, server.token(ROOM, identity))
    await wait_for(lambda: media.video, timeout=15, interval=0.005, what="late joiner's first frame")
    first = media.video[0][0]
    media.stop()
    await room.disconnect()
    return (first - started) * 1000, (first - subscribed[0]) * 1000


async def jitter_buffer_ms(room: rtc.Room) -> dict[str, float]:
    """Mean jitter-buffer delay of the avatar's audio and video at this subscriber."""
    return {
        kind: round(1000 * inbound.jitter_buffer_delay / max(1, inbound.jitter_buffer_emitted_count), 1)
        for kind, inbound in (await inbound_rtp_stats(room)).items()
    }


def xcorr_offset_ms(times: np.ndarray, change: np.ndarray, env_times: np.ndarray, env: np.ndarray) -> float:
    """Lag (video − audio) that best aligns the mouth-motion curve with the audio envelope."""
    grid = np.arange(max(times[0], env_times[0]), min(times[-1], env_times[-1]), 0.01)
    mouth = change[np.clip(np.searchsorted(times, grid, side="right") - 1, 0, len(change) - 1)]
    audio = np.interp(grid, env_times, env)
    lags = range(-30, 31)
    scores = [
        np.corrcoef(mouth[max(0, k) : len(grid) + min(0, k)], audio[max(0, -k) : len(grid) - max(0, k)])[0, 1]
        for k in lags
    ]
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


def onsets(times: np.ndarray, values: np.ndarray, threshold: float, quiet_s: float) -> list[float]:
    """Times where `values` rises above `threshold` after at least `quiet_s` below it."""
    found, quiet_since = [], None
    for t, v in zip(times, values, strict=False):
        if v < threshold:
            quiet_since = t if quiet_since is None else quiet_since
        elif quiet_since is not None:
            if t - quiet_since >= quiet_s:
                found.append(float(t))
            quiet_since = None
    return found


def paired_offsets(audio_onsets: list[float], video_onsets: list[float], max_gap_s: float = 0.2) -> list[float]:
    """video − audio (s) for each audio onset that has a video onset within `max_gap_s`."""
    offsets = []
    for a in audio_onsets:
        nearest = min(video_onsets, key=lambda v: abs(v - a), default=None)
        if nearest is not None and abs(nearest - a) <= max_gap_s:
            offsets.append(nearest - a)
    return offsets


def offset_stats(audio_on: list[float], times: np.ndarray, change: np.ndarray) -> tuple[np.ndarray, int]:
    """(video − audio offsets in ms, video onsets found) with mouth-change onsets at `times`."""
    video_on = onsets(times, change, threshold=0.25 * change.max(), quiet_s=0.12)
    return np.array(paired_offsets(audio_on, video_on)) * 1000, len(video_on)


def run_stats(client: str, offsets_ms: np.ndarray) -> dict[str, object]:
    return {
        "client": client,
        "mean": round(float(offsets_ms.mean()), 1) if len(offsets_ms) else None,
        "p95_abs": round(float(np.percentile(np.abs(offsets_ms), 95)), 1) if len(offsets_ms) else None,
        "pairs": len(offsets_ms),
    }


def browser_offsets_ms(envelope: list[list[float]], mouth: list[dict[str, float]]) -> np.ndarray:
    """Offsets (ms) from the Chromium probe: audio onsets in the played audio, mouth openings in the
    presented frames, both on the page's clock."""
    env = np.array(envelope)
    frames = [m for m in mouth if m["open"] > 0]  # before that the probe was still taking its reference
    if len(env) == 0 or not frames:
        return np.array([])
    audio_on = onsets(env[:, 0] / 1000, env[:, 1], threshold=0.15 * env[:, 1].max(), quiet_s=0.12)
    shown = np.array([m["shown"] for m in frames]) / 1000
    offsets_ms, _ = offset_stats(audio_on, shown, np.array([m["open"] for m in frames]))
    return offsets_ms


async def viewer_run(
    server: LiveKitServer,
    browser: Browser,
    site: str,
    output: DataStreamAudioOutput,
    speech: np.ndarray,
    sample_rate: int,
    run: int,
    crop: tuple[int, int, int, int],
    mouth_box: tuple[float, float, float, float],
) -> list[dict[str, object]]:
    """One run: a fresh Python subscriber and a fresh Chromium viewer watch one turn; each one's offsets."""
    x0, y0, x1, y1 = crop
    box = (0, 0, x1 - x0, y1 - y0)
    room = rtc.Room()
    await room.connect(server.url, server.token(ROOM, f"viewer-python-{run}"))
    media = record_agent(room, crop=crop)
    token = server.token(ROOM, f"viewer-browser-{run}")
    page = await open_viewer(browser, site, server.url, token, mouth_box=mouth_box)
    try:
        await wait_for(lambda: len(media.video) > 25, timeout=30, what="the Python viewer's idle frames")
        for _ in range(300):
            if len((await probe(page)).frames) > 25:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        idle_end = time.monotonic()
        await say(output, speech, sample_rate)
        await asyncio.sleep(0.5)
        seen = await probe(page)
        media.stop()
    finally:
        await page.context.close()
        await room.disconnect()
    render = np.array([timestamp_us for _, timestamp_us, _ in media.video]) / 1e6
    _, change = mouth_change(media, box, closed_mouth(media.video_between(0, idle_end), box))
    onset_times, onset_env = audio_envelope(media, window_s=ONSET_WINDOW_S)
    audio_on = onsets(onset_times, onset_env, threshold=0.15 * onset_env.max(), quiet_s=0.12)
    python_ms, _ = offset_stats(audio_on, render, change)
    one_stream = bool(seen.remote_streams("audio")) and seen.remote_streams("audio") == seen.remote_streams("video")
    return [
        {**run_stats("python", python_ms), "run": run},
        {
            **run_stats("browser", browser_offsets_ms(seen.envelope, seen.mouth)),
            "run": run,
            "one_media_stream": one_stream,
        },
    ]


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--syllables", type=int, default=15, help="per turn")
    parser.add_argument("--fps", type=int, default=None, help="the avatar's frame rate (default: the pack's)")
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="then keep it talking this long (drift check)")
    parser.add_argument("--runs", type=int, default=6, help="viewer runs (a fresh Python and Chromium viewer each)")
    args = parser.parse_args()
    x0, y0, x1, y1 = default_mouth_box()
    box = (0, 0, x1 - x0, y1 - y0)  # frames are recorded as mouth crops
    opts = AvatarOptions(fps=args.fps)
    request = RenderRequest.for_agent(VOICE_IDENTITY, opts)
    rng = np.random.default_rng(7)
    logs = Path(tempfile.mkdtemp(prefix="bench-avsync-"))
    server = start_livekit_server(logs)
    render_agent_name = f"streaming-avatar-render-bench-{secrets.token_hex(3)}"
    worker = start_worker(
        server,
        logs,
        name="avsync-render",
        extra_env={"STREAMING_AVATAR_ROLE": "render", "STREAMING_AVATAR_RENDER_AGENT_NAME": render_agent_name},
    )
    voice, room = rtc.Room(), rtc.Room()
    try:
        await voice.connect(server.url, server.token(ROOM, VOICE_IDENTITY))
        await room.connect(server.url, server.token(ROOM, "listener"))
        media = record_agent(room, crop=(x0, y0, x1, y1))
        await server.dispatch(render_agent_name, ROOM, request.to_json())
        await wait_for(lambda: agent_participant(room), what="render worker")
        await wait_for(lambda: media.video, timeout=30, what="avatar video")
        output = DataStreamAudioOutput(
            voice, destination_identity=request.avatar_identity, sample_rate=opts.sample_rate
        )
        await asyncio.sleep(1.0)
        idle_end = time.monotonic()
        late_joins: list[tuple[float, float]] = []
        soak_end = None
        turn = 0
        while turn < args.turns or time.monotonic() < (soak_end or 0):
            speech = asyncio.create_task(
                say(output, syllables(opts.sample_rate, args.syllables, rng), opts.sample_rate)
            )
            if turn < args.turns:
                await asyncio.sleep(1.0)
                late_joins.append(await late_join_first_frame_ms(server, f"late-{turn}"))
            await speech
            await asyncio.sleep(0.5)
            turn += 1
            if turn == args.turns:
                soak_end = time.monotonic() + args.soak_minutes * 60
        jitter_buffers = await jitter_buffer_ms(room)
        media.stop()
        runs: list[dict[str, object]] = []
        if args.runs:
            size = opts.width or 512
            mouth_box = (x0 / size, y0 / size, x1 / size, y1 / size)
            with viewer_site() as site:
                async with async_playwright() as playwright:
                    browser = await launch_chromium(playwright, fake_microphone=None)
                    for run in range(args.runs):
                        speech = syllables(opts.sample_rate, args.syllables, rng)
                        runs += await viewer_run(
                            server, browser, site, output, speech, opts.sample_rate, run, (x0, y0, x1, y1), mouth_box
                        )
                    await browser.close()
    finally:
        await room.disconnect()
        await voice.disconnect()
        worker.stop()
        server.stop()

    arrival, change = mouth_change(media, box, closed_mouth(media.video_between(0, idle_end), box))
    render = np.array([timestamp_us for _, timestamp_us, _ in media.video]) / 1e6
    env_times, env = audio_envelope(media)
    onset_times, onset_env = audio_envelope(media, window_s=ONSET_WINDOW_S)
    audio_on = onsets(onset_times, onset_env, threshold=0.15 * onset_env.max(), quiet_s=0.12)
    offsets_ms, video_onsets = offset_stats(audio_on, render, change)
    arrival_offsets_ms, _ = offset_stats(audio_on, arrival, change)
    frame_ms = 1000 / (args.fps or 25)
    join_ms, subscribed_ms = zip(*late_joins, strict=False)
    drift = soak_drift_ms(render, change, env_times, env) if args.soak_minutes else None
    result = {
        "av_offset_ms": {
            "mean": round(float(offsets_ms.mean()), 1),
            "p95_abs": round(float(np.percentile(np.abs(offsets_ms), 95)), 1),
            "median": round(float(np.median(offsets_ms)), 1),
            "p5": round(float(np.percentile(offsets_ms, 5)), 1),
            "p95": round(float(np.percentile(offsets_ms, 95)), 1),
            "xcorr": xcorr_offset_ms(render, change, env_times, env),
        },
        "av_offset_by_arrival_ms": {
            "mean": round(float(arrival_offsets_ms.mean()), 1),
            "p95_abs": round(float(np.percentile(np.abs(arrival_offsets_ms), 95)), 1),
        },
        "quantization_p95_abs_ms": round(0.95 * frame_ms / 2, 1),
        "video_render_after_arrival_ms": round(float(np.median(render - arrival) * 1000), 1),
        "onsets": {"audio": len(audio_on), "video": video_onsets, "paired": len(offsets_ms)},
        "subscriber_jitter_buffer_ms": jitter_buffers,
        "soak": drift,
        "late_join_first_frame_ms": summary(list(join_ms)),
        "late_join_subscribed_to_first_frame_ms": summary(list(subscribed_ms)),
        "fps": args.fps or 25,
        "av_offset_runs": runs,
        "machine": machine(),
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
    }
    av = result["av_offset_ms"]
    print_table(
        [
            ("A/V offset (video − audio), mean", str(av["mean"])),
            ("A/V offset, median", str(av["median"])),
            ("A/V offset, p5 / p95", f"{av['p5']} / {av['p95']}"),
            ("|A/V offset| p95", str(av["p95_abs"])),
            ("|A/V offset| p95 from frame quantization alone", str(result["quantization_p95_abs_ms"])),
            (
                "A/V offset by arrival in Python, mean / p95 |.|",
                f"{result['av_offset_by_arrival_ms']['mean']} / {result['av_offset_by_arrival_ms']['p95_abs']}",
            ),
            ("A/V offset by cross-correlation", str(av["xcorr"])),
            ("onsets paired / audio / video", f"{len(offsets_ms)} / {len(audio_on)} / {video_onsets}"),
            (
                "subscriber jitter buffer audio / video",
                f"{jitter_buffers.get('audio')} / {jitter_buffers.get('video')}",
            ),
            ("video render time − arrival, median", str(result["video_render_after_arrival_ms"])),
            *(
                [
                    ("A/V offset by cross-correlation, first minute", str(drift["first_minute_xcorr_ms"])),
                    ("A/V offset by cross-correlation, last minute", str(drift["last_minute_xcorr_ms"])),
                ]
                if drift
                else []
            ),
            ("late joiner first frame p50", str(result["late_join_first_frame_ms"]["p50"])),
            ("late joiner first frame p95", str(result["late_join_first_frame_ms"]["p95"])),
            ("late joiner subscribed → first frame p50", str(result["late_join_subscribed_to_first_frame_ms"]["p50"])),
            ("late joiner subscribed → first frame p95", str(result["late_join_subscribed_to_first_frame_ms"]["p95"])),
        ],
        ("metric (ms)", "value"),
    )
    if runs:
        print(f"\nA/V offset per viewer run (video − audio, ms; load average {' '.join(result['load_average'])})")
        print_table(
            [
                (
                    str(r["run"]),
                    str(r["client"]),
                    str(r["mean"]),
                    str(r["p95_abs"]),
                    str(r["pairs"]),
                    str(r.get("one_media_stream", "")),
                )
                for r in runs
            ],
            ("run", "client", "mean", "p95 |offset|", "pairs", "one media stream"),
        )
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
