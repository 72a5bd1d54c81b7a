"""The cloud voice profile with (fake) provider keys: choosing and building the providers puts no key in
the room's notices or in a log record, whichever keys are missing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from livekit.plugins import silero

from agent.config import WorkerSettings
from agent.metadata import DispatchMetadata
from agent.providers import (
    ELEVENLABS_KEY,
    GEMINI_KEY,
    GOOGLE_CLOUD_CREDENTIALS,
    build_llm,
    build_stt,
    build_tts,
    plan_voice_pipeline,
)
from support.secrets_scan import FAKE_PROVIDER_SECRETS, fake_provider_env, scan_texts


@pytest.fixture(scope="module")
def vad() -> silero.VAD:
    return silero.VAD.load()


@pytest.mark.parametrize("missing", [None, GEMINI_KEY, ELEVENLABS_KEY, GOOGLE_CLOUD_CREDENTIALS])
@pytest.mark.parametrize("tts_provider", ["google", "elevenlabs"])
def test_cloud_plan_and_providers_show_no_key(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    vad: silero.VAD,
    missing: str | None,
    tts_provider: str,
) -> None:
    for name, value in fake_provider_env(tmp_path).items():
        if name == missing:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("STREAMING_AVATAR_VOICE_PROFILE", "cloud")
    monkeypatch.setenv("STREAMING_AVATAR_STT_PROVIDER", "google")
    caplog.set_level(logging.DEBUG)
    settings = WorkerSettings.from_env()
    metadata = DispatchMetadata(tts_provider=tts_provider)  # type: ignore[arg-type]

    plan = plan_voice_pipeline(settings, metadata)
    built = [
        build_stt(plan, metadata, whisper_model_dir="/models/whisper-small", vad=vad),
        build_llm(plan, settings, metadata),
        build_tts(plan, metadata, voices={}),
    ]

    assert plan.tts[0] == tts_provider or missing is not None
    texts = [("notice", notice) for notice in plan.notices]
    texts += [(f"log record {r.name}", r.getMessage()) for r in caplog.records]
    texts += [(f"repr of {type(b).__name__}", repr(b)) for b in built]
    assert scan_texts(texts, FAKE_PROVIDER_SECRETS) == []
