"""Headless Chromium (Debian's package, driven by Playwright) on the project's web page.

`PROBE_JS` runs in the page before its own scripts and records, with the page's clock
(performance.now()): every video frame the avatar's <video> presents (rVFC) with how
much its mouth region changed, the agent state shown, the level of the remote audio
the page plays (WebAudio analysers on LiveKit's <audio> elements), and clicks on Send.
Tests and bench/web.py read it back with `probe(page)`.
"""

from __future__ import annotations

import shutil
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Browser, Page, Playwright

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
AUDIBLE_RMS = 0.01
"""WebAudio level (full scale 1.0) above which the avatar is heard; silence reads ~0."""

PROBE_JS = """
(() => {
  const P = (window.__probe = { frames: [], mouth: [], states: [], audio: [], sends: [] });
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const c2d = canvas.getContext("2d", { willReadFrequently: true });
  let video = null, previous = null, audioCtx = null;
  const analysers = new Map();
  const onFrame = (_now, meta) => {
    const t = performance.now();
    P.frames.push({ t, w: meta.width, h: meta.height });
    const v = video;
    if (v && v.videoWidth) {
      // The lower middle of the picture, where a portrait's mouth is.
      c2d.drawImage(v, v.videoWidth * 0.3, v.videoHeight * 0.55, v.videoWidth * 0.4, v.videoHeight * 0.3, 0, 0, 48, 48);
      const px = c2d.getImageData(0, 0, 48, 48).data;
      const luma = new Float32Array(48 * 48);
      for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
      if (previous) {
        let sum = 0;
        for (let i = 0; i < luma.length; i++) sum += Math.abs(luma[i] - previous[i]);
        P.mouth.push({ t, motion: sum / luma.length });
      }
      previous = luma;
    }
    if (v) v.requestVideoFrameCallback(onFrame);
  };
  document.addEventListener("click", (e) => {
    if (e.target.closest && e.target.closest('[data-testid="send-button"]')) P.sends.push(performance.now());
  }, true);
  document.addEventListener("keydown", (e) => {
    const input = e.target.closest && e.target.closest('[data-testid="chat-input"]');
    if (e.key === "Enter" && input) P.sends.push(performance.now());
  }, true);
  const buf = new Float32Array(1024);
  setInterval(() => {
    const v = document.querySelector('[data-testid="avatar-video"]');
    if (v && v !== video) { video = v; previous = null; v.requestVideoFrameCallback(onFrame); }
    const s = document.querySelector('[data-testid="agent-state"]');
    const state = s && s.getAttribute("data-state");
    const last = P.states.length ? P.states[P.states.length - 1].s : null;
    if (state && state !== last) P.states.push({ t: performance.now(), s: state });
    for (const a of document.querySelectorAll("audio")) {
      if (a.srcObject && !analysers.has(a)) {
        audioCtx = audioCtx || new AudioContext();
        const analyser = audioCtx.createAnalyser();
        analyser.fftSize = 1024;
        audioCtx.createMediaStreamSource(a.srcObject).connect(analyser);
        analysers.set(a, analyser);
      }
    }
    let rms = 0;
    for (const analyser of analysers.values()) {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      rms = Math.max(rms, Math.sqrt(sum / buf.length));
    }
    P.audio.push({ t: performance.now(), rms });
  }, 20);
})();
"""


def chromium_executable() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("Chromium is not installed: run scripts/setup.sh (it installs Debian's chromium)")
    return found


async def launch_chromium(
    playwright: Playwright, *, fake_microphone: Path | None, allow_microphone: bool = True
) -> Browser:
    """Debian's Chromium; the microphone plays `fake_microphone` (a WAV, looped) when allowed."""
    args = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--use-fake-device-for-media-stream"]
    if allow_microphone:
        args.append("--use-fake-ui-for-media-stream")
    else:
        args.append("--deny-permission-prompts")
    if fake_microphone is not None:
        args.append(f"--use-file-for-fake-audio-capture={fake_microphone}")
    return await playwright.chromium.launch(executable_path=chromium_executable(), args=args, headless=True)


async def open_page(browser: Browser, url: str, *, viewport: tuple[int, int] = (1280, 800)) -> Page:
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = await context.new_page()
    await page.add_init_script(PROBE_JS)
    await page.goto(url)
    return page


@dataclass
class Probe:
    frames: list[dict[str, float]]
    mouth: list[dict[str, float]]
    states: list[dict[str, Any]]
    audio: list[dict[str, float]]
    sends: list[float]

    def state_sequence(self, since: float = 0.0) -> list[str]:
        return [s["s"] for s in self.states if s["t"] >= since]

    def first_audible_after(self, since: float) -> float | None:
        return next((a["t"] for a in self.audio if a["t"] >= since and a["rms"] > AUDIBLE_RMS), None)

    def last_audible_between(self, start: float, end: float) -> float | None:
        loud = [a["t"] for a in self.audio if start <= a["t"] < end and a["rms"] > AUDIBLE_RMS]
        return loud[-1] if loud else None

    def mouth_motion(self, start: float, end: float) -> float:
        values = [m["motion"] for m in self.mouth if start <= m["t"] < end]
        return float(np.mean(values)) if values else 0.0

    def frames_between(self, start: float, end: float) -> int:
        return sum(1 for f in self.frames if start <= f["t"] < end)


async def probe(page: Page) -> Probe:
    data = await page.evaluate("window.__probe")
    return Probe(**data)


async def page_now(page: Page) -> float:
    return float(await page.evaluate("performance.now()"))


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit mono WAV, the format Chromium's fake audio capture reads."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype(np.int16).tobytes())
    return path
