"""Headless Chromium (Debian's package, driven by Playwright) on the project's web page.

`PROBE_JS` runs in the page before its own scripts and records, with the page's clock
(performance.now()): every video frame the avatar's <video> presents (rVFC) with how
much its mouth region changed, the agent state shown, the level of the remote audio
the page plays (WebAudio analysers on LiveKit's <audio> elements), and clicks on Send.
Tests and bench/web.py read it back with `probe(page)`.
"""

from __future__ import annotations

import contextlib
import http.server
import shutil
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from playwright.async_api import Browser, Page, Playwright

from .paths import REPO

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
AUDIBLE_RMS = 0.01
"""WebAudio level (full scale 1.0) above which the avatar is heard; silence reads ~0."""

PROBE_JS = """
(() => {
  const P = (window.__probe = {
    frames: [], mouth: [], states: [], audio: [], sends: [], tracks: [], peers: [], envelope: [], marks: {},
  });
  const mark = (name) => { if (!(name in P.marks)) P.marks[name] = performance.now(); };
  // Every remote track WebRTC hands the page, with the media streams (msid) it belongs to: tracks
  // of one stream are played in sync by the browser, tracks of different streams each on their own.
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...args) {
    const pc = new NativePC(...args);
    const index = P.peers.length;
    (window.__probePeers = window.__probePeers || []).push(pc);
    P.peers.push({ created: performance.now(), connected: null });
    pc.addEventListener("track", (e) => P.tracks.push({
      t: performance.now(), kind: e.track.kind, id: e.track.id, streams: e.streams.map((s) => s.id),
    }));
    pc.addEventListener("connectionstatechange", () => {
      const peer = P.peers[index];
      if (pc.connectionState === "connected" && peer.connected === null) peer.connected = performance.now();
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = NativePC.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, NativePC);
  const NativeWS = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new NativeWS(...args);
    if (String(args[0]).includes("/rtc")) ws.addEventListener("open", () => mark("signal_open"));
    return ws;
  };
  window.WebSocket.prototype = NativeWS.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const c2d = canvas.getContext("2d", { willReadFrequently: true });
  // The mouth region as fractions of the picture (x0, y0, x1, y1); a bench may set the pack's own.
  window.__probeMouthBox = window.__probeMouthBox || [0.3, 0.55, 0.7, 0.85];
  let video = null, previous = null, audioCtx = null, reference = null, referenceFrames = [];
  window.__probeSetMouthReference = () => { reference = null; referenceFrames = []; };
  const analysers = new Map();
  const onFrame = (_now, meta) => {
    const t = performance.now();
    P.frames.push({ t, shown: meta.expectedDisplayTime, w: meta.width, h: meta.height, rtp: meta.rtpTimestamp });
    const v = video;
    if (v && v.videoWidth) {
      const [x0, y0, x1, y1] = window.__probeMouthBox;
      const [w, h] = [v.videoWidth, v.videoHeight];
      c2d.drawImage(v, w * x0, h * y0, w * (x1 - x0), h * (y1 - y0), 0, 0, 48, 48);
      const px = c2d.getImageData(0, 0, 48, 48).data;
      const luma = new Float32Array(48 * 48);
      for (let i = 0; i < luma.length; i++) luma[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2];
      if (reference === null) {
        referenceFrames.push(luma);
        if (referenceFrames.length === 10) {
          reference = new Float32Array(luma.length);
          for (const f of referenceFrames) for (let i = 0; i < f.length; i++) reference[i] += f[i] / 10;
        }
      }
      let open = 0;
      if (reference) {
        for (let i = 0; i < luma.length; i++) open += Math.abs(luma[i] - reference[i]);
        open /= luma.length;
      }
      if (previous) {
        let sum = 0;
        for (let i = 0; i < luma.length; i++) sum += Math.abs(luma[i] - previous[i]);
        P.mouth.push({ t, shown: meta.expectedDisplayTime, motion: sum / luma.length, open });
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
  // The remote audio as played, one RMS per 128-sample render quantum, on the page's clock: an
  // AudioWorklet sees each quantum at its context time, which getOutputTimestamp() maps to performance.now().
  const ENVELOPE_WORKLET = `registerProcessor("probe-envelope", class extends AudioWorkletProcessor {
    constructor() { super(); this.batch = []; }
    process(inputs) {
      let sum = 0, n = 0;
      for (const channel of inputs[0] || []) { for (const x of channel) sum += x * x; n += channel.length; }
      this.batch.push(currentFrame, n ? Math.sqrt(sum / n) : 0);
      if (this.batch.length >= 40) { this.port.postMessage(this.batch); this.batch = []; }
      return true;
    }
  });`;
  let worklet = null;
  const startEnvelope = () => {
    if (worklet) return worklet;
    const url = URL.createObjectURL(new Blob([ENVELOPE_WORKLET], { type: "application/javascript" }));
    worklet = audioCtx.audioWorklet.addModule(url).then(() => {
      const node = new AudioWorkletNode(audioCtx, "probe-envelope");
      node.port.onmessage = (e) => {
        const ts = audioCtx.getOutputTimestamp();
        for (let i = 0; i < e.data.length; i += 2) {
          const playsAt = ts.performanceTime + (e.data[i] / audioCtx.sampleRate - ts.contextTime) * 1000;
          P.envelope.push([playsAt, e.data[i + 1]]);
        }
      };
      const mute = audioCtx.createGain();
      mute.gain.value = 0;
      node.connect(mute).connect(audioCtx.destination);
      return node;
    });
    return worklet;
  };
  const buf = new Float32Array(1024);
  setInterval(() => {
    const v = document.querySelector('[data-testid="avatar-video"]');
    if (v && v !== video) {
      video = v; previous = null; v.requestVideoFrameCallback(onFrame);
      mark("video_element");
      v.addEventListener("loadeddata", () => mark("video_loadeddata"), { once: true });
    }
    const s = document.querySelector('[data-testid="agent-state"]');
    const state = s && s.getAttribute("data-state");
    const last = P.states.length ? P.states[P.states.length - 1].s : null;
    if (state && state !== last) P.states.push({ t: performance.now(), s: state });
    for (const a of document.querySelectorAll("audio")) {
      if (a.srcObject && !analysers.has(a)) {
        audioCtx = audioCtx || new AudioContext();
        const analyser = audioCtx.createAnalyser();
        analyser.fftSize = 1024;
        const source = audioCtx.createMediaStreamSource(a.srcObject);
        source.connect(analyser);
        analysers.set(a, analyser);
        startEnvelope().then((node) => source.connect(node));
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
    tracks: list[dict[str, Any]]
    """Remote tracks as WebRTC handed them to the page: kind, id, the ids of the media streams they belong to."""
    peers: list[dict[str, float | None]]
    envelope: list[list[float]]
    """[time the sample plays (page clock, ms), RMS] per 128-sample quantum of the remote audio, via WebAudio."""
    marks: dict[str, float]

    def remote_streams(self, kind: str) -> list[str]:
        """The media stream ids of the published remote tracks of `kind` ("audio" or "video"), in arrival order.

        LiveKit's stream ids start with the publisher's participant id; the others belong to the
        transceivers livekit-client prepares before anything is subscribed."""
        return [
            stream
            for track in self.tracks
            if track["kind"] == kind
            for stream in track["streams"]
            if stream.startswith("PA_")
        ]

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


LIVEKIT_CLIENT_UMD = REPO / "web" / "node_modules" / "livekit-client" / "dist" / "livekit-client.umd.js"
VIEWER_HTML = b"""<!doctype html><html><body style="margin:0;background:#000">
<script src="livekit-client.umd.js"></script></body></html>"""
VIEWER_JS = """
async ([url, token]) => {
  const room = new LivekitClient.Room({ adaptiveStream: false, dynacast: false });
  room.on(LivekitClient.RoomEvent.TrackSubscribed, (track) => {
    const element = track.attach();
    if (track.kind === "video") element.setAttribute("data-testid", "avatar-video");
    document.body.appendChild(element);
  });
  await room.connect(url, token);
  window.__viewerRoom = room;
}
"""


class _ViewerFiles(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (
            (LIVEKIT_CLIENT_UMD.read_bytes(), "application/javascript")
            if self.path.endswith(".js")
            else (VIEWER_HTML, "text/html")
        )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def viewer_site() -> Iterator[str]:
    """A bare livekit-client viewer page (the npm package the web page bundles) served on a loopback port,
    as the web page is: Chromium lets only a local page reach a local LiveKit server. Yields its URL.
    Needs `web/`'s node_modules (scripts/setup.sh)."""
    if not LIVEKIT_CLIENT_UMD.is_file():
        raise RuntimeError(f"{LIVEKIT_CLIENT_UMD} is missing: run `npm ci` in web/ (scripts/setup.sh)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ViewerFiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def open_viewer(
    browser: Browser, site: str, url: str, token: str, *, mouth_box: tuple[float, float, float, float]
) -> Page:
    """The viewer page of `viewer_site()` joined to a room with `token`: it plays every track it subscribes
    to in <video>/<audio> elements, as the web page does, under the probe. `mouth_box`: the mouth as
    fractions of the picture, for the probe's mouth measure."""
    context = await browser.new_context(viewport={"width": 640, "height": 640})
    page = await context.new_page()
    await page.add_init_script(f"window.__probeMouthBox = {list(mouth_box)};")
    await page.add_init_script(PROBE_JS)
    await page.goto(site)
    await page.evaluate(VIEWER_JS, [url, token])
    return page
