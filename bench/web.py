"""The web page as a user meets it, in headless Chromium: page opened → first avatar frame shown,
Start clicked → first frame, and Send clicked → first avatar audio heard in the page.

Real livekit-server, worker (offline profile: scripted LLM, eSpeak NG TTS, CPU avatar) and
`python -m agent web`; N sessions one after another, each in a fresh browser context that
clicks Start as soon as the avatars are listed, waits for the avatar to listen, sends a
message, and ends the session. Times are the page's own clock (performance.now, 0 = the
navigation started); the audio level is sampled every 20 ms.

Where the first frame's time goes: each session's steps on the page's clock, with the worker's
own log lines for the session's room (same machine, same wall clock) placed on it through
`performance.timeOrigin`. The table gives each step's median time after the one before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import tempfile
from pathlib import Path

import numpy as np
from _common import json_arg_parser, machine, print_table, summary, write_json
from playwright.async_api import Browser, async_playwright, expect

from support.browser import launch_chromium, open_page, page_now, probe, write_wav
from support.stack import Worker, start_livekit_server, start_web_server, start_worker

WORKER_STEPS = {
    "received job request": "job_received",
    "job connected": "job_connected",
    "avatar ready": "avatar_ready",
    "avatar tracks published": "tracks_published",
    "keyframe request": "keyframe_requested",
}
STEPS = (
    "avatars_listed",
    "start_clicked",
    "session_created",
    "signalling_open",
    "page_connected",
    "job_received",
    "job_connected",
    "avatar_ready",
    "tracks_published",
    "video_element",
    "keyframe_requested",
    "video_loadeddata",
    "first_frame",
)
"""A session's steps, roughly in order (the job starts while the page is still connecting); each is reported
as ms after Start was clicked."""


def worker_steps(worker: Worker, room: str, time_origin_ms: float) -> dict[str, float]:
    """The worker's log lines for `room` as ms on the page's clock."""
    found: dict[str, float] = {}
    for line in worker.log_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = WORKER_STEPS.get(record.get("message", ""))
        if step and record.get("room") == room and step not in found:
            epoch_ms = dt.datetime.fromisoformat(record["timestamp"]).timestamp() * 1000
            found[step] = epoch_ms - time_origin_ms
    return found


async def one_session(browser: Browser, url: str, worker: Worker) -> dict[str, float]:
    page = await open_page(browser, url)
    await expect(page.get_by_test_id("avatar-card").first).to_be_visible()
    listed = await page_now(page)
    await page.get_by_test_id("avatar-card").first.click()
    clicked = await page_now(page)
    async with page.expect_response("**/api/sessions") as created:
        await page.get_by_test_id("start-button").click()
    room = (await (await created.value).json())["id"]
    state = page.get_by_test_id("agent-state")
    await expect(state).to_have_attribute("data-state", "listening", timeout=30_000)
    await page.get_by_test_id("chat-input").fill("Hello")
    await page.get_by_test_id("send-button").click()
    await expect(state).to_have_attribute("data-state", "speaking", timeout=30_000)
    await page.wait_for_timeout(500)
    seen = await probe(page)
    sent = seen.sends[-1]
    heard = seen.first_audible_after(sent)
    if not seen.frames or heard is None:
        audio = "no" if heard is None else "some"
        raise RuntimeError(f"{len(seen.frames)} avatar frames and {audio} audio in the page")
    await page.get_by_test_id("end-button").click()
    await expect(page.get_by_test_id("start-button")).to_be_visible(timeout=10_000)
    first_frame = seen.frames[0]["t"]
    steps = {
        "avatars_listed": listed,
        "start_clicked": clicked,
        "session_created": await page.evaluate(
            "performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/sessions')).responseEnd"
        ),
        "signalling_open": seen.marks.get("signal_open", float("nan")),
        "page_connected": min((p["connected"] for p in seen.peers if p["connected"] is not None), default=float("nan")),
        **worker_steps(worker, room, await page.evaluate("performance.timeOrigin")),
        "video_element": seen.marks.get("video_element", float("nan")),
        "video_loadeddata": seen.marks.get("video_loadeddata", float("nan")),
        "first_frame": first_frame,
    }
    await page.context.close()
    return {
        "open_to_first_frame_ms": first_frame,
        "start_to_first_frame_ms": first_frame - clicked,
        "send_to_first_audio_ms": heard - sent,
        **{f"step_{name}_ms": steps.get(name, float("nan")) for name in STEPS},
    }


async def main() -> None:
    parser = json_arg_parser(__doc__ or "")
    parser.add_argument("-n", type=int, default=10)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-web-"))
    server = start_livekit_server(logs)
    worker = start_worker(server, logs, name="bench")
    web = start_web_server(
        server, logs, agent_name=worker.agent_name, extra_env={"STREAMING_AVATAR_WEB_MAX_SESSIONS_PER_CLIENT": "100"}
    )
    silence = write_wav(logs / "silence.wav", np.zeros(16000, np.int16), 16000)
    runs: list[dict[str, float]] = []
    failures: list[str] = []
    try:
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright, fake_microphone=silence)
            await one_session(browser, web.url, worker)  # warm-up: first page load, first job process
            while len(runs) < args.n and len(failures) < args.n:
                await asyncio.sleep(1.0)  # let the previous job's process go back to the idle pool
                try:
                    runs.append(await one_session(browser, web.url, worker))
                except (AssertionError, RuntimeError) as exc:  # reported, not hidden: see "failed" in the JSON
                    failures.append(str(exc).splitlines()[0])
                    print(f"session failed: {failures[-1]}")
            await browser.close()
    finally:
        web.stop()
        worker.stop()
        server.stop()
    result = {"machine": machine(), "n": len(runs), "failed": failures, "logs": str(logs)}
    rows = []
    for key, target in (
        ("open_to_first_frame_ms", "≤ 1500 ms p95"),
        ("start_to_first_frame_ms", ""),
        ("send_to_first_audio_ms", "≤ 400 ms p95"),
    ):
        stats = summary([r[key] for r in runs])
        result[key] = stats
        rows.append((key, f"{stats['p50']:.0f}", f"{stats['p95']:.0f}", target))
    steps: dict[str, dict[str, float]] = {}
    for step in STEPS:
        after_start = [r[f"step_{step}_ms"] - r["step_start_clicked_ms"] for r in runs]
        after_start = [v for v in after_start if not np.isnan(v)]
        if after_start:
            steps[step] = summary(after_start)
            rows.append((f"  {step}, ms after Start", f"{steps[step]['p50']:.0f}", f"{steps[step]['p95']:.0f}", ""))
    result["first_frame_steps_after_start_ms"] = steps
    result["sessions"] = runs
    result["load_average"] = Path("/proc/loadavg").read_text().split()[:3]
    print(f"web page, headless Chromium, {len(runs)} sessions ({len(failures)} failed) — {result['machine']}")
    print(f"load average at the end: {' '.join(result['load_average'])}")
    print_table(rows, ("metric", "p50 ms", "p95 ms", "target"))
    write_json(args.json, result)


if __name__ == "__main__":
    asyncio.run(main())
