"""Avatar video settings are checked where they enter (worker env, AvatarSession arguments, a render
request) with the pack manifest's bounds, so a bad value is a clear error there and never an exception
inside a running job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import WorkerSettings
from livekit.plugins.musetalk import AvatarOptions, RenderRequest, RenderWorkerError, VideoSpec
from livekit.plugins.musetalk.publisher import AvatarPublisher
from livekit.plugins.musetalk.video_sinks import EncodedVideoSink


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"width": 511}, "width=511"),
        ({"height": 4096}, "height=4096"),
        ({"fps": 0}, "fps=0"),
        ({"fps": 120}, "fps=120"),
        ({"fps": 25, "idle_fps": 30}, "idle_fps=30"),
        ({"idle_fps": 0}, "idle_fps=0"),
    ],
)
def test_bad_avatar_options_are_refused_with_the_field_named(options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AvatarOptions(**options)


def test_good_avatar_options_pass() -> None:
    AvatarOptions(width=720, height=720, fps=50, idle_fps=25)


def test_a_render_request_with_bad_video_settings_is_rejected() -> None:
    request = RenderRequest.for_agent("agent-1", AvatarOptions())
    data = json.loads(request.to_json())
    assert RenderRequest.from_json(json.dumps(data)) == request
    with pytest.raises(RenderWorkerError, match="fps=500"):
        RenderRequest.from_json(json.dumps({**data, "fps": 500}))


def test_a_render_request_from_an_older_voice_worker_still_parses() -> None:
    data = json.loads(RenderRequest.for_agent("agent-1", AvatarOptions()).to_json())
    del data["idle_fps"]
    assert RenderRequest.from_json(json.dumps(data)).options.idle_fps is None


def test_the_worker_refuses_to_start_with_bad_video_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMING_AVATAR_VIDEO_SIZE", "511x512")
    with pytest.raises(ValueError, match="STREAMING_AVATAR_VIDEO_SIZE.*width=511"):
        WorkerSettings.from_env()
    monkeypatch.setenv("STREAMING_AVATAR_VIDEO_SIZE", "512x512")
    monkeypatch.setenv("STREAMING_AVATAR_VIDEO_FPS", "50")
    monkeypatch.setenv("STREAMING_AVATAR_VIDEO_IDLE_FPS", "25")
    settings = WorkerSettings.from_env()
    assert (settings.video_fps, settings.video_idle_fps) == (50, 25)


def test_the_worker_finds_uploaded_packs_after_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STREAMING_AVATAR_AVATARS_DIR", str(tmp_path / "avatars"))
    monkeypatch.setenv("STREAMING_AVATAR_UPLOADS_DIR", str(tmp_path / "uploads"))
    settings = WorkerSettings.from_env()
    assert settings.avatar_dirs == (tmp_path / "avatars", tmp_path / "uploads")
    options = settings.avatar_options("u-0123456789ab")
    assert options.avatar_dirs == [tmp_path / "avatars", tmp_path / "uploads"]
    remote = settings.with_local_paths(RenderRequest.from_json(RenderRequest.for_agent("a", options).to_json()).options)
    assert remote.avatar_dirs == options.avatar_dirs, "a render worker applies its own directories"


async def test_a_frame_rate_above_30_opens_an_encoder() -> None:
    """A pack or setting may ask for up to 60 fps; the encoder's rate-feedback ceiling follows it."""
    renderer = AvatarPublisher(AvatarOptions(video_encoder="x264", fps=50))
    sink = renderer._open_video_sink(VideoSpec(width=256, height=256, fps=50))
    try:
        assert isinstance(sink, EncodedVideoSink)
        assert sink.encoder.options.fps == 50
    finally:
        await sink.aclose()
