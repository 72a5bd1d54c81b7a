"""Which STT / LLM / TTS chain a session gets from worker settings, dispatch metadata and keys.

The real provider objects are constructed (with fake keys: nothing connects),
so the tests check the chain the session would actually run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from livekit.agents import llm, stt, tts
from livekit.plugins import elevenlabs, faster_whisper, google, silero

from agent.config import REPO_ROOT, WorkerSettings
from agent.metadata import DispatchMetadata
from agent.offline import EspeakTTS, ScriptedLLM
from agent.provider_guards import GuardedLLM
from agent.providers import (
    ELEVENLABS_KEY,
    GEMINI_KEY,
    GOOGLE_CLOUD_CREDENTIALS,
    build_llm,
    build_stt,
    build_tts,
    pack_voices,
    plan_voice_pipeline,
    voices_for_language,
)
from agent.simulated_latency import DelayedLLM, DelayedTTS

WHISPER_DIR = "/models/whisper-small"
WHISPER_PROBLEM = "faster-whisper model 'small' is not downloaded on this worker. Run `python -m agent download-files`"
ALL_KEYS = {GEMINI_KEY: "gemini-key", ELEVENLABS_KEY: "eleven-key", GOOGLE_CLOUD_CREDENTIALS: "/secrets/gcp.json"}


@pytest.fixture(scope="module")
def vad() -> silero.VAD:
    return silero.VAD.load()


def settings_with(monkeypatch: pytest.MonkeyPatch, *, keys: dict[str, str], **env: str) -> WorkerSettings:
    for name in (*ALL_KEYS, "STREAMING_AVATAR_STT_PROVIDER", "STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**keys, **env}.items():
        monkeypatch.setenv(name, value)
    return WorkerSettings.from_env()


def chain(adapter_or_single: Any) -> list[Any]:
    """The provider objects in fallback order (one object: a chain of one)."""
    for attribute in ("_stt_instances", "_llm_instances", "_tts_instances"):
        if hasattr(adapter_or_single, attribute):
            return list(getattr(adapter_or_single, attribute))
    return [adapter_or_single]


def unguarded(built: Any) -> Any:
    """What is behind the GuardedLLM every built LLM is (agent/provider_guards.py), with its timeout checked."""
    assert (
        isinstance(built, GuardedLLM)
        and built.first_chunk_timeout == WorkerSettings.model_fields["llm_timeout"].default
    )
    return built.inner


def unwrap(instance: Any) -> Any:
    """The STT inside the stream adapter the fallback adapter puts around a non-streaming STT."""
    return instance.wrapped_stt if isinstance(instance, stt.StreamAdapter) else instance


def test_offline_profile_runs_local_providers_only(monkeypatch: pytest.MonkeyPatch, vad: silero.VAD) -> None:
    settings = settings_with(monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="offline")
    metadata = DispatchMetadata(language="en", tts_provider="elevenlabs")

    plan = plan_voice_pipeline(settings, metadata)

    assert (plan.stt, plan.llm, plan.tts, plan.notices) == (["faster-whisper"], ["scripted"], ["espeak"], [])
    speech = build_stt(plan, settings, metadata, whisper_model_dir=WHISPER_DIR, vad=vad)
    assert isinstance(speech, faster_whisper.STT) and speech.model == WHISPER_DIR
    assert speech.capabilities.streaming, "Whisper streams with the session's VAD, transcribing early"
    assert isinstance(unguarded(build_llm(plan, settings, metadata)), ScriptedLLM)
    assert isinstance(build_tts(plan, metadata, voices={}), EspeakTTS)


@pytest.mark.parametrize(("language", "notices"), [("en-GB", 0), ("zh-CN", 0), ("xh-ZA", 1)])
def test_a_language_the_offline_voice_lacks_is_spoken_in_english_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, language: str, notices: int
) -> None:
    settings = settings_with(monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline")

    plan = plan_voice_pipeline(settings, DispatchMetadata(language=language))

    assert plan.tts == ["espeak"]
    voice_notices = [notice for notice in plan.notices if "Whisper" not in notice]  # xh: Whisper lacks it too
    assert len(voice_notices) == notices
    assert all(language in notice and "English" in notice for notice in voice_notices)


def test_missing_whisper_model_means_text_only_and_says_why(monkeypatch: pytest.MonkeyPatch, vad: silero.VAD) -> None:
    settings = settings_with(monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline")
    metadata = DispatchMetadata()

    plan = plan_voice_pipeline(settings, metadata, whisper_problem=WHISPER_PROBLEM)

    assert plan.stt == []
    assert build_stt(plan, settings, metadata, whisper_model_dir=None, vad=vad) is None
    [notice] = plan.notices
    assert WHISPER_PROBLEM in notice and "lk.chat" in notice


def test_cloud_with_every_key_chains_the_preferred_tts_first(monkeypatch: pytest.MonkeyPatch, vad: silero.VAD) -> None:
    settings = settings_with(monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="cloud")
    metadata = DispatchMetadata(language="ko", tts_provider="elevenlabs", voice="my-eleven-voice")

    plan = plan_voice_pipeline(settings, metadata)

    assert (plan.stt, plan.llm, plan.tts, plan.notices) == (
        ["faster-whisper", "google"],
        ["gemini", "scripted"],
        ["elevenlabs", "google", "espeak"],
        [],
    )
    built_tts = build_tts(plan, metadata, voices={"google": "ko-KR-Standard-A", "elevenlabs": "pack-voice"})
    assert isinstance(built_tts, tts.FallbackAdapter)
    eleven, google_tts, espeak = chain(built_tts)
    assert isinstance(eleven, elevenlabs.TTS) and eleven._opts.voice_id == "my-eleven-voice"
    assert isinstance(google_tts, google.TTS) and google_tts._opts.voice.name == "ko-KR-Standard-A"
    assert isinstance(espeak, EspeakTTS)
    built_llm = unguarded(build_llm(plan, settings, metadata))
    assert isinstance(built_llm, llm.FallbackAdapter)
    assert [type(i) for i in chain(built_llm)] == [google.LLM, ScriptedLLM]


def test_cloud_without_keys_falls_back_to_offline_and_names_the_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="cloud")
    metadata = DispatchMetadata(tts_provider="elevenlabs")

    plan = plan_voice_pipeline(settings, metadata)

    assert (plan.llm, plan.tts) == (["scripted"], ["espeak"])
    assert any(GEMINI_KEY in n for n in plan.notices)
    assert any(ELEVENLABS_KEY in n and "'espeak'" in n for n in plan.notices)
    assert isinstance(unguarded(build_llm(plan, settings, metadata)), ScriptedLLM)
    assert isinstance(build_tts(plan, metadata, voices={}), EspeakTTS)


def test_missing_elevenlabs_key_falls_back_to_google(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {GEMINI_KEY: "gemini-key", GOOGLE_CLOUD_CREDENTIALS: "/secrets/gcp.json"}
    settings = settings_with(monkeypatch, keys=keys, STREAMING_AVATAR_VOICE_PROFILE="cloud")
    metadata = DispatchMetadata(tts_provider="elevenlabs")

    plan = plan_voice_pipeline(settings, metadata)

    assert plan.tts == ["google", "espeak"]
    assert plan.notices == [f"TTS 'elevenlabs' needs {ELEVENLABS_KEY}: falling back to 'google'"]
    assert [type(t) for t in chain(build_tts(plan, metadata, voices={}))] == [google.TTS, EspeakTTS]


def test_google_stt_falls_back_to_whisper(monkeypatch: pytest.MonkeyPatch, vad: silero.VAD) -> None:
    settings = settings_with(
        monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="cloud", STREAMING_AVATAR_STT_PROVIDER="google"
    )
    metadata = DispatchMetadata(language="ko-KR")

    plan = plan_voice_pipeline(settings, metadata)

    assert plan.stt == ["google", "faster-whisper"]
    built = build_stt(plan, settings, metadata, whisper_model_dir=WHISPER_DIR, vad=vad)
    assert isinstance(built, stt.FallbackAdapter)
    assert [type(unwrap(s)) for s in chain(built)] == [google.STT, faster_whisper.STT]


def test_google_stt_without_credentials_uses_whisper(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch,
        keys={GEMINI_KEY: "gemini-key"},
        STREAMING_AVATAR_VOICE_PROFILE="cloud",
        STREAMING_AVATAR_STT_PROVIDER="google",
    )

    plan = plan_voice_pipeline(settings, DispatchMetadata())

    assert plan.stt == ["faster-whisper"]
    assert f"STT 'google' needs {GOOGLE_CLOUD_CREDENTIALS} (falling back to 'faster-whisper')" in plan.notices


def test_missing_whisper_model_falls_back_to_google_stt(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="cloud")

    plan = plan_voice_pipeline(settings, DispatchMetadata(), whisper_problem=WHISPER_PROBLEM)

    assert plan.stt == ["google"]
    assert f"{WHISPER_PROBLEM} (falling back to 'google')" in plan.notices


def test_auto_profile_goes_cloud_only_with_a_gemini_key(monkeypatch: pytest.MonkeyPatch) -> None:
    without = settings_with(monkeypatch, keys={ELEVENLABS_KEY: "eleven-key"}, STREAMING_AVATAR_VOICE_PROFILE="auto")
    assert plan_voice_pipeline(without, DispatchMetadata()).tts == ["espeak"]
    with_key = settings_with(monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="auto")
    assert plan_voice_pipeline(with_key, DispatchMetadata()).llm == ["gemini", "scripted"]


def test_gemini_model_comes_from_metadata_else_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="cloud")
    plan = plan_voice_pipeline(settings, DispatchMetadata())

    default = chain(unguarded(build_llm(plan, settings, DispatchMetadata())))[0]
    chosen = chain(unguarded(build_llm(plan, settings, DispatchMetadata(llm_model="gemini-2.0-flash-lite"))))[0]

    assert default.model == settings.gemini_model and "flash" in default.model
    assert chosen.model == "gemini-2.0-flash-lite"


def test_scripted_llm_gets_the_configured_extra_sentences(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline", STREAMING_AVATAR_SCRIPTED_EXTRA_SENTENCES="3"
    )
    built = unguarded(build_llm(plan_voice_pipeline(settings, DispatchMetadata()), settings, DispatchMetadata()))
    assert isinstance(built, ScriptedLLM) and built._extra_sentences == 3


def test_voices_for_language_prefers_the_exact_tag() -> None:
    table = {"en": {"google": "en-US-Standard-C"}, "en-GB": {"google": "en-GB-Standard-A"}, "ko": {"google": "ko"}}
    assert voices_for_language(table, "en-GB") == {"google": "en-GB-Standard-A"}
    assert voices_for_language(table, "en-US") == {"google": "en-US-Standard-C"}
    assert voices_for_language(table, "ja") == {}


def test_pack_voices_come_from_the_avatar_manifest(tmp_path: Path) -> None:
    voices = pack_voices("default", "ko-KR", REPO_ROOT / "avatars")
    assert voices["google"].startswith("ko-KR")
    assert pack_voices("no-such-pack", "ko", tmp_path) == {}


def test_simulated_cloud_delays_only_an_offline_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline", STREAMING_AVATAR_SIMULATE_CLOUD="400,150"
    )
    metadata = DispatchMetadata(language="en")
    plan = plan_voice_pipeline(settings, metadata)

    delayed_llm = unguarded(build_llm(plan, settings, metadata))
    delayed_tts = build_tts(plan, metadata, voices={}, simulate_cloud=settings.simulate_cloud)

    assert isinstance(delayed_llm, DelayedLLM) and isinstance(delayed_llm.inner, ScriptedLLM)
    assert isinstance(delayed_tts, DelayedTTS) and isinstance(delayed_tts.inner, EspeakTTS)
    assert (delayed_llm.delay, delayed_tts.delay) == (0.4, 0.15)

    cloud = settings_with(
        monkeypatch, keys=ALL_KEYS, STREAMING_AVATAR_VOICE_PROFILE="cloud", STREAMING_AVATAR_SIMULATE_CLOUD="on"
    )
    cloud_plan = plan_voice_pipeline(cloud, metadata)
    assert not isinstance(unguarded(build_llm(cloud_plan, cloud, metadata)), DelayedLLM)
    assert not isinstance(build_tts(cloud_plan, metadata, voices={}, simulate_cloud=cloud.simulate_cloud), DelayedTTS)


def test_a_language_whisper_lacks_is_detected_with_a_notice(monkeypatch: pytest.MonkeyPatch, vad: silero.VAD) -> None:
    settings = settings_with(monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline")
    metadata = DispatchMetadata(language="xh-ZA")

    plan = plan_voice_pipeline(settings, metadata)
    speech = build_stt(plan, settings, metadata, whisper_model_dir=WHISPER_DIR, vad=vad)

    assert isinstance(speech, faster_whisper.STT) and speech.options.language is None
    assert any("Whisper" in notice and "xh-ZA" in notice for notice in plan.notices)


@pytest.mark.parametrize(
    ("language", "setting", "window"), [("en-US", "8", 8.0), ("en-US", "0", None), ("ko", "8", None)]
)
def test_only_english_can_be_transcribed_on_a_short_window(
    monkeypatch: pytest.MonkeyPatch, vad: silero.VAD, language: str, setting: str, window: float | None
) -> None:
    settings = settings_with(
        monkeypatch, keys={}, STREAMING_AVATAR_VOICE_PROFILE="offline", STREAMING_AVATAR_WHISPER_WINDOW=setting
    )
    metadata = DispatchMetadata(language=language)

    speech = build_stt(
        plan_voice_pipeline(settings, metadata), settings, metadata, whisper_model_dir=WHISPER_DIR, vad=vad
    )

    assert isinstance(speech, faster_whisper.STT) and speech.options.encoder_window == window
