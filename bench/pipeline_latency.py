"""Voice pipeline latency seen by a participant, on the real server and worker.

    python bench/pipeline_latency.py --turns 12 --json pipeline_latency.json

Four worker configurations, one after another (offline profile: scripted LLM,
eSpeak NG TTS):

- instant: the tiny random-weight Whisper (its transcript is ready tens of ms
  after the speech ends), an LLM and a TTS that answer at once;
- cloud_sim: the same with STREAMING_AVATAR_SIMULATE_CLOUD=on (the LLM's first
  token 0.5 s, each TTS request's first audio 0.25 s late, as Gemini Flash and
  ElevenLabs Flash would be; agent/simulated_latency.py);
- cloud_sim_no_preemptive: the same without preemptive generation;
- cpu_whisper_base: the real Whisper base on this CPU, instant LLM and TTS; it
  also speaks the mid-sentence-pause set (tests/support/paused_speech.py: 24
  utterances pausing 0.4-0.8 s after an unfinished phrase) and counts false
  cut-ins: agent audio or a "speaking" state between the end of the first half
  and the end of the sentence.

Each turn a participant says one eSpeak NG sentence into its microphone, and
measures (the instant configuration also measures interruptions):

- eos_to_first_audio_ms: end of speech as the worker's VAD declared it (the
  `vad_end_at` of the worker's "turn latency" log line; same machine, same
  clock) → first loud agent audio frame received. This is the pipeline overhead
  beyond the VAD's end-of-speech delay: STT, turn decision, LLM, TTS, avatar,
  WebRTC both ways.
- eos_to_first_video_ms: VAD end → first received avatar video frame marked as
  speech in its frame metadata (the first lip-synced frame; null when the agent
  publishes no video).
- eos_to_first_moving_mouth_ms: VAD end → first received frame whose mouth
  region moves more than idle motion did in the second before (what a viewer
  sees; a soft first syllable moves the mouth too little to count).
- speech_end_to_first_audio_ms / vad_delay_ms: from the participant's last
  speech sample, i.e. what the user waits, and how much of it was the VAD's
  end-of-speech delay (its silence window, see agent/turn_taking.py, plus the
  trip of the microphone audio to the worker).
- interrupt_to_idle_ms: `interrupt` RPC sent → the avatar silent and idle at the
  participant: the later of interrupt_to_silent_ms (arrival of the last loud
  agent audio frame after the RPC) and interrupt_to_still_mouth_ms (arrival of
  the frame that brought the mouth to rest: the one before the first 200 ms in
  which the mouth box moves from frame to frame no more than it did while idle
  before the first turn). Measured
  on replies to `lk.chat` messages, interrupted while audibly speaking after
  half a second of the reply.

Voice turns let each reply finish; interruptions are measured on chat replies.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, write_json
from livekit import rtc

from agent.bundled_whisper import bundled_whisper_dir
from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize
from agent.room_controls import INTERRUPT_RPC
from agent.turn_metrics import TURN_LOG_MESSAGE
from livekit.plugins.musetalk.video_sinks import SPEECH_FRAME
from support.lipsync import default_mouth_box
from support.paused_speech import PAUSED_UTTERANCES
from support.rooms import ReceivedMedia, agent_participant, record_agent, wait_for
from support.stack import LiveKitServer, start_livekit_server, start_worker
from support.tiny_whisper import build_tiny_whisper
from support.voice_client import LOUD, AgentObserver, Microphone, resample, trim_silence

QUESTIONS = (
    "Hello there, how are you today?",
    "What is the weather like in Paris today?",
    "Can you tell me a short story about a cat?",
    "Please remind me to call my mother on Sunday.",
)
CONFIGS: dict[str, dict[str, str]] = {
    "instant": {},
    "cloud_sim": {"STREAMING_AVATAR_SIMULATE_CLOUD": "on"},
    "cloud_sim_no_preemptive": {"STREAMING_AVATAR_SIMULATE_CLOUD": "on", "STREAMING_AVATAR_PREEMPTIVE_GENERATION": "0"},
    "cpu_whisper_base": {},
}
SPEAK_BEFORE_INTERRUPT_S = 0.5
SETTLE_S = 1.0


def percentiles(values: list[float]) -> dict[str, float | int] | None:
    if not values:
        return None
    return {
        "p50": round(float(np.percentile(values, 50)), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "n": len(values),
    }


def mouth_still_from(media: ReceivedMedia, start: float, idle_motion: float, run: int = 5) -> float | None:
    """Arrival of the frame after `start` that brought the mouth to rest: the one before the first run of
    `run` frames that each move from their predecessor no more than the mouth did while idle (twice the idle
    maximum, plus one grey level). A lone later blip (an idle keyframe's coding noise) does not count."""
    times = np.array([t for t, _, _ in media.video])
    after = times >= start
    times, still = times[after], (frame_motion(media) <= 2 * idle_motion + 1)[after]
    for i in range(len(still) - run + 1):
        if still[i : i + run].all():
            return float(times[i - 1]) if i else start
    return None


def frame_motion(media: ReceivedMedia) -> np.ndarray:
    """Mean |difference| of each received mouth crop from the one before it (0 for the first)."""
    crops = [img.astype(np.float32) for _, _, img in media.video]
    return np.array([0.0] + [float(np.abs(b - a).mean()) for a, b in itertools.pairwise(crops)])


def first_speech_frame_after(media: ReceivedMedia, start: float) -> float | None:
    """Arrival of the first frame after `start` that the avatar marked as speech (its frame metadata)."""
    return next(
        (
            t
            for (t, _, _), kind in zip(media.video, media.frame_kinds, strict=True)
            if t >= start and kind == SPEECH_FRAME
        ),
        None,
    )


def first_mouth_motion_after(observer: AgentObserver, since: float, calibration_s: float = 1.0) -> float | None:
    """First frame after `since` whose mouth region differs from the last idle frame more than
    idle motion (blinks, sway) did in the `calibration_s` before `since`."""
    idle = [luma for t, luma in observer.video if since - calibration_s <= t < since]
    if len(idle) < 2:
        return None
    reference = idle[-1]
    idle_motion = max(float(np.abs(luma - reference).mean()) for luma in idle[:-1])
    return next(
        (t for t, luma in observer.video if t >= since and np.abs(luma - reference).mean() > 2 * idle_motion + 1),
        None,
    )


def last_loud_audio_between(observer: AgentObserver, start: float, end: float) -> float | None:
    return next((t for t, peak, _ in reversed(observer.audio) if start <= t < end and peak > LOUD), None)


def speaking_now(observer: AgentObserver, since: float) -> bool:
    """The latest received agent audio frame is loud and arrived after `since`."""
    return bool(observer.audio) and observer.audio[-1][0] >= since and observer.audio[-1][1] > LOUD


def vad_end_times(worker_log: Path) -> list[float]:
    """Wall-clock VAD end of every replied-to user turn, from the worker's "turn latency" lines."""
    times = []
    for line in worker_log.read_text(errors="replace").splitlines():
        if TURN_LOG_MESSAGE in line:
            record = json.loads(line)
            if record.get("message") == TURN_LOG_MESSAGE:
                times.append(float(record["vad_end_at"]))
    return times


async def measure_turns(
    server: LiveKitServer, agent_name: str, worker_log: Path, turns: int, *, interrupts: bool, paused: bool
) -> dict[str, list[float]]:
    room = rtc.Room()
    room_name = f"bench-pipeline-{int(time.time())}"
    await room.connect(server.url, server.token(room_name, "bench-user"))
    x0, y0, x1, y1 = default_mouth_box()
    # First: of two VideoStreams on one track, only the first created gets the frames' metadata (livekit 1.1.x).
    mouths = record_agent(room, crop=(x0, y0, x1, y1))
    observer = AgentObserver(room)
    microphone = Microphone(room)
    await microphone.publish()
    await server.dispatch(agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), timeout=30, what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    await asyncio.sleep(SETTLE_S)
    idle_since = time.monotonic() - SETTLE_S
    idle = np.array([t >= idle_since for t, _, _ in mouths.video])
    idle_motion = float(frame_motion(mouths)[idle][1:].max())  # the mouth over the second of idle just recorded
    questions = [resample(trim_silence(synthesize(text, "en")), SPEECH_RATE) for text in QUESTIONS]

    results: dict[str, list[float]] = {
        "eos_to_first_audio_ms": [],
        "eos_to_first_video_ms": [],
        "eos_to_first_moving_mouth_ms": [],
        "interrupt_to_idle_ms": [],
        "interrupt_to_silent_ms": [],
        "interrupt_to_still_mouth_ms": [],
        "speech_end_to_first_audio_ms": [],
        "vad_delay_ms": [],
        "cut_ins": [],
        "paused_wait_ms": [],
    }
    wall_minus_monotonic = time.time() - time.monotonic()
    for turn in range(turns):
        end_of_speech = await microphone.say(questions[turn % len(questions)])
        first_audio = await wait_for(lambda: observer.first_loud_audio_after(end_of_speech), timeout=30, what="reply")
        await wait_for(lambda: observer.state_since("listening", first_audio), timeout=30, what="reply finished")
        vad_end = await wait_for(lambda: next(iter(vad_end_times(worker_log)[turn:]), None), what="turn log")
        vad_end -= wall_minus_monotonic
        results["eos_to_first_audio_ms"].append((first_audio - vad_end) * 1000)
        results["speech_end_to_first_audio_ms"].append((first_audio - end_of_speech) * 1000)
        results["vad_delay_ms"].append((vad_end - end_of_speech) * 1000)
        first_frame = first_speech_frame_after(mouths, vad_end)
        if first_frame is not None:
            results["eos_to_first_video_ms"].append((first_frame - vad_end) * 1000)
        first_motion = first_mouth_motion_after(observer, vad_end)
        if first_motion is not None:
            results["eos_to_first_moving_mouth_ms"].append((first_motion - vad_end) * 1000)
        await asyncio.sleep(SETTLE_S)
        print(
            f"voice turn {turn + 1}/{turns}: " + ", ".join(f"{k}={v[-1]:.0f}" for k, v in results.items() if v),
            file=sys.stderr,
        )

    for utterance in PAUSED_UTTERANCES if paused else []:
        await wait_for(lambda: quiet(observer, agent), timeout=60, what="the avatar quiet")
        first, rest = utterance.parts()
        first_end = await microphone.say(first)
        await asyncio.sleep(utterance.pause)
        end = await microphone.say(rest)
        cut_in = observer.loud_seconds(first_end, end) > 0 or observer.state_since("speaking", first_end) is not None
        answer = await wait_for(lambda: observer.first_loud_audio_after(end), timeout=60, what="answer")
        cut_in = cut_in or (observer.state_since("speaking", first_end) or answer) < end
        results["cut_ins"].append(float(cut_in))
        results["paused_wait_ms"].append((answer - end) * 1000)
        print(f"paused {utterance.first!r}: cut in={cut_in}, wait={results['paused_wait_ms'][-1]:.0f}", file=sys.stderr)

    for turn in range(turns if interrupts else 0):
        asked_at = time.monotonic()
        await room.local_participant.send_text(f"question number {turn}", topic="lk.chat")
        try:
            await wait_for(lambda: observer.first_loud_audio_after(asked_at), timeout=30, what="reply")
        except AssertionError:
            print(f"interrupt {turn + 1}/{turns}: no reply after the previous interruption; stopping", file=sys.stderr)
            results["stalled_after_interrupt"] = [float(turn)]
            break
        replying_at = time.monotonic()
        await wait_for(
            lambda: speaking_now(observer, replying_at + SPEAK_BEFORE_INTERRUPT_S), interval=0.005, what="audible reply"
        )
        interrupted_at = time.monotonic()
        await room.local_participant.perform_rpc(destination_identity=agent.identity, method=INTERRUPT_RPC, payload="")
        await wait_for(lambda: observer.state_since("listening", interrupted_at), what="agent listening")
        await asyncio.sleep(SETTLE_S)
        silent = last_loud_audio_between(observer, interrupted_at, time.monotonic()) or interrupted_at
        still = mouth_still_from(mouths, interrupted_at, idle_motion)
        results["interrupt_to_silent_ms"].append((silent - interrupted_at) * 1000)
        if still is not None:
            results["interrupt_to_still_mouth_ms"].append((still - interrupted_at) * 1000)
            results["interrupt_to_idle_ms"].append((max(silent, still) - interrupted_at) * 1000)
        print(
            f"interrupt {turn + 1}/{turns}: "
            + ", ".join(f"{k}={v[-1]:.0f}" for k, v in results.items() if "interrupt" in k and v),
            file=sys.stderr,
        )

    observer.close()
    mouths.stop()
    await microphone.close()
    await room.disconnect()
    return results


def quiet(observer: AgentObserver, agent: rtc.RemoteParticipant, quiet_s: float = 1.0) -> bool:
    now = time.monotonic()
    return agent.attributes.get("lk.agent.state") == "listening" and observer.loud_seconds(now - quiet_s, now) == 0


def print_table(summary: dict[str, dict[str, float | int] | None]) -> None:
    rows = summary.items()
    print(f"{'metric':<48} {'p50 ms':>8} {'p95 ms':>8} {'min':>8} {'max':>8} {'n':>4}")
    for name, stats in rows:
        if stats is None:
            print(f"{name:<48} {'null':>8}")
        else:
            print(f"{name:<48} {stats['p50']:>8} {stats['p95']:>8} {stats['min']:>8} {stats['max']:>8} {stats['n']:>4}")


def run_config(name: str, turns: int, log_dir: Path, scratch: Path) -> dict[str, list[float]]:
    model_dir = bundled_whisper_dir() if name == "cpu_whisper_base" else build_tiny_whisper(scratch / "tiny-whisper")
    server = start_livekit_server(log_dir / name)
    worker = None
    try:
        env = {"STREAMING_AVATAR_WHISPER_MODEL": str(model_dir), **CONFIGS[name]}
        worker = start_worker(server, log_dir / name, name=f"bench-{name}", extra_env=env)
        return asyncio.run(
            measure_turns(
                server,
                worker.agent_name,
                worker.log_path,
                turns,
                interrupts=name == "instant",
                paused=name == "cpu_whisper_base",
            )
        )
    finally:
        if worker is not None:
            worker.stop()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--logs", type=Path, help="keep the server and worker logs in this directory")
    args = parser.parse_args()

    raws: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.configs:
            raws[name] = run_config(name, args.turns, args.logs or Path(scratch) / "logs", Path(scratch))
            print(f"== {name}", file=sys.stderr)

    stalled = {name: bool(raw.pop("stalled_after_interrupt", None)) for name, raw in raws.items()}
    user_wait = {name: percentiles(raw["speech_end_to_first_audio_ms"]) for name, raw in raws.items()}
    cut_ins = raws.get("cpu_whisper_base", {}).get("cut_ins", [])
    false_cut_in_rate = round(sum(cut_ins) / len(cut_ins), 3) if cut_ins else None
    for name, raw in raws.items():
        print(f"\n{name}")
        print_table({metric: percentiles(values) for metric, values in raw.items() if metric != "cut_ins"})
    print(f"\nfalse cut-ins on the mid-sentence-pause set: {false_cut_in_rate} ({int(sum(cut_ins))}/{len(cut_ins)})")
    if args.json:
        report = {
            "user_wait_ms": user_wait,
            "false_cut_in_rate": false_cut_in_rate,
            "false_cut_ins": f"{int(sum(cut_ins))}/{len(cut_ins)}",
            "configs": {
                name: {metric: percentiles(values) for metric, values in raw.items() if metric != "cut_ins"}
                for name, raw in raws.items()
            },
            "eos": "the worker VAD's end-of-speech event",
            "stalled_after_interrupt": stalled,
            "video_measure": (
                "eos_to_first_video_ms: first received frame marked as speech in its frame metadata; "
                "eos_to_first_moving_mouth_ms: first whose mouth region moves more than idle motion did"
            ),
            "machine": machine(),
            "raw": {
                name: {m: [round(v, 1) for v in values] for m, values in raw.items()} for name, raw in raws.items()
            },
        }
        write_json(args.json, report)


if __name__ == "__main__":
    main()
