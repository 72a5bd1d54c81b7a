"""Voice pipeline latency seen by a participant, on the real server and worker.

    python bench/pipeline_latency.py --turns 12 --json pipeline_latency.json

Offline profile: scripted LLM (answers at once), eSpeak NG TTS (local, tens of
ms per sentence), the tiny random-weight Whisper (STT in a few ms). Each turn a
participant says one eSpeak NG sentence into its microphone, and measures:

- eos_to_first_audio_ms: end of its speech (its last speech sample captured) →
  first loud agent audio frame received. Includes the end-of-speech delay
  (VAD silence + endpointing, see agent/turn_taking.py); the table also shows
  the pipeline overhead beyond it.
- eos_to_first_video_ms: end of speech → first received avatar video frame whose
  mouth region moves more than idle motion did in the second before (null when
  the agent publishes no video).
- interrupt_to_idle_ms: `interrupt` RPC sent → arrival of the last loud agent
  audio frame after it (0 when none arrived), on replies to `lk.chat` messages,
  interrupted after half a second of speech.

Voice turns let each reply finish; interruptions are measured on chat replies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from livekit import rtc  # noqa: E402
from support.rooms import agent_participant, wait_for  # noqa: E402
from support.stack import LiveKitServer, start_livekit_server, start_worker  # noqa: E402
from support.tiny_whisper import build_tiny_whisper  # noqa: E402
from support.voice_client import AgentObserver, Microphone, resample, trim_silence  # noqa: E402

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE  # noqa: E402
from agent.offline.espeak import synthesize  # noqa: E402
from agent.room_controls import INTERRUPT_RPC  # noqa: E402
from agent.turn_taking import end_of_speech_delay_s  # noqa: E402

UTTERANCE = "Hello there, how are you today?"
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


async def measure_turns(server: LiveKitServer, agent_name: str, turns: int) -> dict[str, list[float]]:
    room = rtc.Room()
    room_name = f"bench-pipeline-{int(time.time())}"
    await room.connect(server.url, server.token(room_name, "bench-user"))
    observer = AgentObserver(room)
    microphone = Microphone(room)
    await microphone.publish()
    await server.dispatch(agent_name, room_name, '{"language": "en"}')
    agent = await wait_for(lambda: agent_participant(room), timeout=30, what="agent")
    await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout=30, what="agent listening")
    await asyncio.sleep(SETTLE_S)
    speech = resample(trim_silence(synthesize(UTTERANCE, "en")), SPEECH_RATE)

    results: dict[str, list[float]] = {"eos_to_first_audio_ms": [], "eos_to_first_video_ms": [], "interrupt_to_idle_ms": []}
    for turn in range(turns):
        end_of_speech = await microphone.say(speech)
        first_audio = await wait_for(lambda: observer.first_loud_audio_after(end_of_speech), timeout=30, what="reply")
        results["eos_to_first_audio_ms"].append((first_audio - end_of_speech) * 1000)
        await wait_for(lambda: observer.state_since("listening", first_audio), timeout=30, what="reply finished")
        first_motion = observer.first_mouth_motion_after(end_of_speech)
        if first_motion is not None:
            results["eos_to_first_video_ms"].append((first_motion - end_of_speech) * 1000)
        await asyncio.sleep(SETTLE_S)
        print(f"voice turn {turn + 1}/{turns}: " + ", ".join(f"{k}={v[-1]:.0f}" for k, v in results.items() if v), file=sys.stderr)

    for turn in range(turns):
        asked_at = time.monotonic()
        await room.local_participant.send_text(f"question number {turn}", topic="lk.chat")
        try:
            await wait_for(lambda: observer.first_loud_audio_after(asked_at), timeout=30, what="reply")
        except AssertionError:
            print(f"interrupt {turn + 1}/{turns}: no reply after the previous interruption; stopping", file=sys.stderr)
            results["stalled_after_interrupt"] = [float(turn)]
            break
        await asyncio.sleep(SPEAK_BEFORE_INTERRUPT_S)
        interrupted_at = time.monotonic()
        await room.local_participant.perform_rpc(destination_identity=agent.identity, method=INTERRUPT_RPC, payload="")
        await wait_for(lambda: observer.state_since("listening", interrupted_at), what="agent listening")
        await asyncio.sleep(SETTLE_S)
        last_loud = observer.last_loud_audio_between(interrupted_at, time.monotonic())
        results["interrupt_to_idle_ms"].append(((last_loud or interrupted_at) - interrupted_at) * 1000)
        print(f"interrupt {turn + 1}/{turns}: {results['interrupt_to_idle_ms'][-1]:.0f}", file=sys.stderr)

    observer.close()
    await microphone.close()
    await room.disconnect()
    return results


def print_table(summary: dict[str, dict[str, float | int] | None], overhead: dict[str, float | int] | None) -> None:
    rows = [*summary.items(), ("pipeline overhead beyond end-of-speech delay", overhead)]
    print(f"{'metric':<48} {'p50 ms':>8} {'p95 ms':>8} {'min':>8} {'max':>8} {'n':>4}")
    for name, stats in rows:
        if stats is None:
            print(f"{name:<48} {'null':>8}")
        else:
            print(f"{name:<48} {stats['p50']:>8} {stats['p95']:>8} {stats['min']:>8} {stats['max']:>8} {stats['n']:>4}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        log_dir = Path(scratch) / "logs"
        model_dir = build_tiny_whisper(Path(scratch) / "tiny-whisper")
        server = start_livekit_server(log_dir)
        worker = None
        try:
            worker = start_worker(
                server,
                log_dir,
                name="bench",
                extra_env={"STREAMING_AVATAR_WHISPER_MODEL": str(model_dir)},
            )
            raw = asyncio.run(measure_turns(server, worker.agent_name, args.turns))
        finally:
            if worker is not None:
                worker.stop()
            server.stop()

    stalled = raw.pop("stalled_after_interrupt", None)
    summary = {name: percentiles(values) for name, values in raw.items()}
    delay_ms = end_of_speech_delay_s() * 1000
    overhead = percentiles([v - delay_ms for v in raw["eos_to_first_audio_ms"]])
    print_table(summary, overhead)
    if args.json:
        report = {
            **summary,
            "end_of_speech_delay_ms": delay_ms,
            "pipeline_overhead_ms": overhead,
            "stalled_after_interrupt": stalled is not None,
            "video_measure": "first received frame whose mouth region moves more than idle motion did",
            "machine": {"platform": platform.platform(), "python": platform.python_version(), "processor": platform.processor()},
            "raw": {name: [round(v, 1) for v in values] for name, values in raw.items()},
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
