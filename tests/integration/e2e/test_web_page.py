"""The web page in a real headless Chromium, served by `python -m agent web`, talking to the
real livekit-server and worker (offline profile: the real Whisper base, scripted LLM, eSpeak NG TTS).

Measurements come from inside the page (see support/browser.py): frames the <video> presented,
the level of the audio the page plays, the agent state it shows.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from livekit import api, rtc
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize
from agent.room_controls import END_SESSION_RPC
from support.browser import launch_chromium, open_page, page_now, probe, write_wav
from support.paths import AVATARS
from support.rooms import agent_participant, wait_for
from support.stack import LiveKitServer, WebServer, Worker

PORTRAIT = AVATARS / "default" / "portrait.png"
EXTRA_SENTENCES = 3
"""Each scripted reply runs ~9 s, long enough to interrupt."""


def words(text: str) -> set[str]:
    return set(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def page_worker(launch_worker, whisper_base_dir: Path) -> Iterator[Worker]:
    """Stopped after this module, so the integration tests that follow have the cores to themselves."""
    worker = launch_worker(
        "page",
        extra_env={
            "STREAMING_AVATAR_WHISPER_MODEL": str(whisper_base_dir),
            "STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES": str(EXTRA_SENTENCES),
        },
    )
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def site(launch_web_server, page_worker: Worker) -> Iterator[WebServer]:
    web = launch_web_server("web-page", page_worker.agent_name)
    yield web
    web.stop()


@pytest.fixture(scope="module")
def silent_mic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_wav(tmp_path_factory.mktemp("mic") / "silence.wav", np.zeros(16000, np.int16), 16000)


@pytest.fixture(scope="module")
def speaking_mic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of silence, a sentence, then 30 s of silence (Chromium loops the file). Chromium plays the file from
    when the page opens the microphone; the silence first lets the agent join and listen before the words."""
    speech = synthesize("Hello there, can you hear me?", "en")
    samples = np.concatenate([np.zeros(SPEECH_RATE * 6, np.int16), speech, np.zeros(SPEECH_RATE * 30, np.int16)])
    return write_wav(tmp_path_factory.mktemp("mic") / "speech.wav", samples, SPEECH_RATE)


@pytest.fixture
async def chromium(silent_mic: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, fake_microphone=silent_mic)
        yield browser
        await browser.close()


async def start_session(page: Page, language: str = "en") -> dict[str, Any]:
    """Pick the first avatar and start; returns the session the page got from POST /api/sessions."""
    await page.get_by_test_id("avatar-card").first.click()
    await page.get_by_test_id("language-select").select_option(language)
    async with page.expect_response("**/api/sessions") as created:
        await page.get_by_test_id("start-button").click()
    await expect(page.get_by_test_id("session-view")).to_be_visible()
    return await (await created.value).json()


async def wait_until(read: Callable[[], Awaitable[int]], at_least: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while await read() < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_for_video(page: Page, frames: int = 25, timeout: float = 20) -> None:
    async def presented() -> int:
        return len((await probe(page)).frames)

    await wait_until(presented, frames, timeout, "the avatar's video to play in the page")


async def send(page: Page, text: str) -> float:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("send-button").click()
    return (await probe(page)).sends[-1]


async def test_home_lists_every_avatar_with_its_thumbnail(chromium: Browser, site: WebServer) -> None:
    page = await open_page(chromium, site.url)
    cards = page.get_by_test_id("avatar-card")
    await expect(cards.first).to_be_visible()
    listed = await cards.evaluate_all("cards => cards.map(c => c.dataset.avatarId)")
    async with httpx.AsyncClient(base_url=site.url) as http:
        expected = [a["id"] for a in (await http.get("/api/avatars")).json()["avatars"]]
    assert listed == expected
    widths = await page.get_by_test_id("avatar-thumbnail").evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert widths and all(w == 256 for w in widths), "every thumbnail decoded"


async def test_typed_message_is_answered_with_video_audio_transcript_and_states(
    chromium: Browser, site: WebServer, log_dir: Path
) -> None:
    page = await open_page(chromium, site.url)
    await start_session(page)
    await wait_for_video(page)
    video = page.get_by_test_id("avatar-video")
    assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [512, 512]
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "listening", timeout=15_000)

    sent_at = await send(page, "Hello avatar")
    agent_line = page.locator('[data-testid="chat-message"][data-from="agent"]')
    await expect(agent_line.first).to_contain_text("You said", timeout=20_000)
    await expect(page.locator('[data-testid="chat-message"][data-from="user"]').first).to_contain_text("Hello avatar")
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "speaking", timeout=10_000)
    await page.screenshot(path=str(log_dir / "web-session.png"))
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "listening", timeout=30_000)

    seen = await probe(page)
    states = seen.state_sequence(since=sent_at)
    assert "thinking" in states and "speaking" in states, states
    thinking, speaking = states.index("thinking"), states.index("speaking")
    assert thinking < speaking and "listening" in states[speaking:], states
    heard = seen.first_audible_after(sent_at)
    assert heard is not None, "the avatar's voice was never audible in the page"
    assert seen.frames_between(sent_at, await page_now(page)) > 100, "the video kept playing while it spoke"


async def test_the_avatars_video_and_audio_reach_the_page_as_one_media_stream(
    chromium: Browser, site: WebServer
) -> None:
    """Browsers play the tracks of one media stream in sync (lip-sync) and the others each on its own:
    the avatar's audio and video must arrive as one, which LiveKit does in a `sync_streams` room."""
    page = await open_page(chromium, site.url)
    await start_session(page)
    await wait_for_video(page, frames=5)
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "listening", timeout=15_000)
    await wait_until(lambda: _count(page, "envelope"), 100, 10, "the played remote audio in WebAudio")
    seen = await probe(page)
    video, audio = seen.remote_streams("video"), seen.remote_streams("audio")
    assert len(video) == 1 and len(audio) == 1, (video, audio)
    assert video == audio, f"the avatar's video and audio are in different media streams: {video} / {audio}"
    assert all(frame["shown"] > 0 for frame in seen.frames), "each presented frame carries its display time"


async def _count(page: Page, key: str) -> int:
    return int(await page.evaluate(f"window.__probe.{key}.length"))


async def test_interrupt_silences_the_avatar_and_end_closes_the_room(
    chromium: Browser, site: WebServer, livekit_server: LiveKitServer
) -> None:
    page = await open_page(chromium, site.url)
    session = await start_session(page)
    await wait_for_video(page)
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "listening", timeout=15_000)

    sent_at = await send(page, "Tell me a long story")
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "speaking", timeout=20_000)
    speaking_from = await page_now(page)
    await page.wait_for_timeout(1500)
    await page.get_by_test_id("interrupt-button").click()
    interrupted_at = await page_now(page)
    await expect(page.get_by_test_id("agent-state")).to_have_attribute("data-state", "listening", timeout=5_000)
    await page.wait_for_timeout(2500)

    seen = await probe(page)
    assert seen.first_audible_after(sent_at) is not None
    last_loud = seen.last_audible_between(interrupted_at, interrupted_at + 2500)
    levels = [(round(a["t"] - interrupted_at), round(a["rms"], 3)) for a in seen.audio if a["t"] > interrupted_at - 200]
    assert last_loud is None or last_loud - interrupted_at < 500, (
        f"the avatar kept talking after Interrupt: {levels[:150]}"
    )
    talking = seen.mouth_motion(speaking_from, interrupted_at)
    after = seen.mouth_motion(interrupted_at + 500, interrupted_at + 2500)
    assert after < talking / 2, f"mouth still moving after Interrupt: {after:.2f} vs {talking:.2f} while talking"

    async with livekit_server.api() as lkapi:
        assert session["id"] in {r.name for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms}
        await page.get_by_test_id("end-button").click()
        await expect(page.get_by_test_id("start-button")).to_be_visible(timeout=10_000)
        assert session["id"] not in {r.name for r in (await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms}


async def test_a_portrait_uploaded_in_the_page_becomes_the_avatar_of_a_session(
    chromium: Browser, site: WebServer, uploads_dir: Path, tmp_path: Path, log_dir: Path
) -> None:
    page = await open_page(chromium, site.url)
    upload_input = page.get_by_test_id("avatar-upload-input")

    two_faces = tmp_path / "two-faces.png"
    with Image.open(PORTRAIT) as image:
        pair = Image.new("RGB", (image.width * 2, image.height))
        pair.paste(image, (0, 0))
        pair.paste(image, (image.width, 0))
        pair.save(two_faces)
    await upload_input.set_input_files(str(two_faces))
    await expect(page.get_by_test_id("upload-error")).to_contain_text("2 faces found", timeout=15_000)
    assert not list(uploads_dir.glob("u-*")), "a refused photo leaves nothing behind"

    async with page.expect_response("**/api/avatars?name=*") as uploading:
        await upload_input.set_input_files(str(PORTRAIT))
    assert (await uploading.value).status == 201
    await expect(page.get_by_test_id("upload-ready")).to_be_visible(timeout=15_000)
    preview = page.get_by_test_id("upload-preview")
    await expect(preview).to_be_visible()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await preview.element_handle())
    selected = page.locator('[data-testid="avatar-card"][data-selected="true"]')
    avatar_id = await selected.get_attribute("data-avatar-id")
    assert avatar_id and avatar_id.startswith("u-") and (uploads_dir / avatar_id).is_dir()
    await page.screenshot(path=str(log_dir / "web-upload.png"))

    await page.get_by_test_id("language-select").select_option("en")
    async with page.expect_response("**/api/sessions") as created:
        await page.get_by_test_id("start-button").click()
    assert (await (await created.value).json())["avatar_id"] == avatar_id
    await expect(page.get_by_test_id("session-view")).to_be_visible()
    await wait_for_video(page)
    assert await page.get_by_test_id("avatar-video").evaluate("v => [v.videoWidth, v.videoHeight]") == [512, 512]
    await page.get_by_test_id("end-button").click()

    card = page.locator(f'[data-avatar-id="{avatar_id}"]')
    await expect(card).to_be_visible(timeout=10_000)
    tile = page.locator(".avatar-tile", has=card)
    await tile.get_by_test_id("avatar-delete").click()
    async with page.expect_response(f"**/api/avatars/{avatar_id}") as deleted:
        await tile.get_by_test_id("avatar-delete-confirm").click()
    assert (await deleted.value).status == 204
    await expect(card).to_have_count(0)
    assert not (uploads_dir / avatar_id).exists()


async def test_speaking_into_the_microphone_is_transcribed_and_answered(site: WebServer, speaking_mic: Path) -> None:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, fake_microphone=speaking_mic)
        page = await open_page(browser, site.url)
        await start_session(page)
        await expect(page.get_by_test_id("mic-toggle")).to_have_attribute("aria-pressed", "true", timeout=15_000)
        # Whisper base takes 1-3 s an utterance on this CPU, longer while other tests load it. Through the page
        # (Chromium's microphone processing of eSpeak speech) the words vary from run to run: "Hello Nair, can you
        # hear me?", "Hello there, how do you care me?", "Hello there, I'm Yukiya B": two key words at least.
        key_words = {"hello", "there", "hear", "me"}
        # The comma's pause may end a VAD segment: the user's words can arrive as two final lines, which the
        # agent answers as one turn.
        agent_line = page.locator('[data-testid="chat-message"][data-from="agent"]')
        await expect(agent_line.first).to_contain_text("You said:", timeout=60_000)
        user_lines = page.locator('[data-testid="chat-message"][data-from="user"][data-final="true"]')
        heard = " ".join(await user_lines.all_inner_texts())
        assert len(key_words & words(heard)) >= 2, heard
        for word in words(heard) & key_words:  # the answer's text grows with its playback
            await expect(agent_line.first).to_contain_text(word, ignore_case=True, timeout=30_000)
        assert float(await page.get_by_test_id("mic-level").get_attribute("data-level") or 0) >= 0
        await browser.close()


async def test_microphone_denied_still_lets_the_user_type(site: WebServer, silent_mic: Path) -> None:
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, fake_microphone=silent_mic, allow_microphone=False)
        page = await open_page(browser, site.url)
        await start_session(page)
        await expect(page.get_by_test_id("status-banner")).to_have_attribute(
            "data-status", "mic-denied", timeout=15_000
        )
        await send(page, "Typing works")
        agent_line = page.locator('[data-testid="chat-message"][data-from="agent"]')
        await expect(agent_line.first).to_contain_text("You said", timeout=30_000)
        await browser.close()


async def test_clear_states_when_the_agent_is_missing_leaves_or_the_server_is_unreachable(
    chromium: Browser, launch_web_server, livekit_server: LiveKitServer, site: WebServer
) -> None:
    nobody = launch_web_server("web-no-agent", "no-such-agent")
    page = await open_page(chromium, nobody.url)
    await start_session(page)
    await expect(page.get_by_test_id("status-banner")).to_have_attribute("data-status", "waiting-agent", timeout=15_000)

    dead = launch_web_server(
        "web-dead-livekit", "no-such-agent", {"STREAMING_AVATAR_PUBLIC_LIVEKIT_URL": "ws://127.0.0.1:9"}
    )
    page = await open_page(chromium, dead.url)
    await start_session(page)
    await expect(page.get_by_test_id("status-banner")).to_have_attribute("data-status", "unreachable", timeout=30_000)

    page = await open_page(chromium, site.url)
    session = await start_session(page)
    await wait_for_video(page, frames=5)
    observer = rtc.Room()
    await observer.connect(livekit_server.url, livekit_server.token(session["id"], "observer"))
    agent = await wait_for(lambda: agent_participant(observer), what="the agent")
    await observer.local_participant.perform_rpc(
        destination_identity=agent.identity, method=END_SESSION_RPC, payload=""
    )
    await expect(page.get_by_test_id("status-banner")).to_have_attribute("data-status", "agent-left", timeout=15_000)
    await observer.disconnect()

    api_down = await open_page(chromium, "about:blank")
    await api_down.route("**/api/avatars", lambda route: route.abort())
    await api_down.goto(site.url)
    await expect(api_down.get_by_test_id("home-error")).to_be_visible(timeout=10_000)


async def test_phone_viewport_shows_video_and_controls_without_sideways_scrolling(
    chromium: Browser, site: WebServer, log_dir: Path
) -> None:
    page = await open_page(chromium, site.url, viewport=(390, 844))
    await start_session(page)
    await wait_for_video(page, frames=5)
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    box = await page.get_by_test_id("avatar-video").bounding_box()
    assert box is not None and box["width"] > 300 and abs(box["width"] - box["height"]) < 4, box
    for control in ("chat-input", "interrupt-button", "end-button", "mic-toggle"):
        await expect(page.get_by_test_id(control)).to_be_visible()
    await page.screenshot(path=str(log_dir / "web-session-phone.png"), full_page=True)
