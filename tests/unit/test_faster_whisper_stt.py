"""faster-whisper STT on a tiny random-weight model generated on the fly (no download).

Random weights make the text meaningless, so these tests check the structure of
what comes back and which options reach faster-whisper, not what was said.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faster_whisper as fw_lib
import huggingface_hub
import numpy as np
import pytest
from livekit import rtc
from livekit.agents import stt
from livekit.plugins import faster_whisper, silero

from agent.offline.espeak import SAMPLE_RATE as SPEECH_RATE
from agent.offline.espeak import synthesize
from livekit.plugins.faster_whisper.short_window import window_seconds
from support.tiny_whisper import build_tiny_whisper

CHEAP_DECODING: dict[str, Any] = {
    "device": "cpu",
    "beam_size": 1,
    "temperature": 0.0,
    "max_new_tokens": 8,
    "condition_on_previous_text": False,
}
FULL_WINDOW: dict[str, Any] = {**CHEAP_DECODING, "encoder_window": None}
"""faster-whisper's own decoding over Whisper's 30 s window, which the spies on WhisperModel.transcribe see."""


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return synthesize("Hello there. The avatar is listening to you now.", "en")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError(f"tried to download {args} {kwargs}")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", refuse)


@pytest.fixture
def transcribe_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[tuple[object, dict[str, Any]]]]:
    """Every WhisperModel.transcribe call as (model object, keyword arguments)."""
    calls: list[tuple[object, dict[str, Any]]] = []
    original = fw_lib.WhisperModel.transcribe

    def spy(self: fw_lib.WhisperModel, audio: np.ndarray, **kwargs: Any) -> Any:
        calls.append((self, kwargs))
        return original(self, audio, **kwargs)

    monkeypatch.setattr(fw_lib.WhisperModel, "transcribe", spy)
    yield calls


def frames(samples: np.ndarray, sample_rate: int, frame_ms: int = 20) -> list[rtc.AudioFrame]:
    size = sample_rate * frame_ms // 1000
    return [
        rtc.AudioFrame(chunk.tobytes(), sample_rate, 1, len(chunk))
        for chunk in np.array_split(samples, max(1, len(samples) // size))
    ]


def assert_final_transcript(event: stt.SpeechEvent, duration: float) -> stt.SpeechData:
    assert event.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    assert len(event.alternatives) == 1
    data = event.alternatives[0]
    assert isinstance(data.text, str) and data.text
    assert data.language in faster_whisper.WHISPER_LANGUAGES
    assert 0.0 < data.confidence <= 1.0
    assert 0.0 <= data.start_time < data.end_time <= duration + 1 / faster_whisper.SAMPLE_RATE
    return data


def test_generated_model_loads_offline(model_dir: Path, no_network: None) -> None:
    model = fw_lib.WhisperModel(str(model_dir), device="cpu")
    assert model.model.is_multilingual
    assert {"ko", "en"} <= set(model.supported_languages)


def test_generated_model_is_deterministic(model_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_whisper(tmp_path / "again")
    names = sorted(p.name for p in model_dir.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert all((model_dir / n).read_bytes() == (again / n).read_bytes() for n in names)


def test_to_whisper_audio_downmixes_and_resamples() -> None:
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 16000).astype(np.int16)
    stereo = np.stack([tone, np.zeros_like(tone)], axis=1)
    frame = rtc.AudioFrame(stereo.tobytes(), 48000, 2, len(tone))

    audio = faster_whisper.to_whisper_audio(frame)

    assert audio.dtype == np.float32
    assert abs(len(audio) - 16000) <= 16
    assert 0.2 < np.abs(audio).max() <= 0.3
    spectrum = np.abs(np.fft.rfft(audio))
    assert round(np.argmax(spectrum) * 16000 / len(audio)) in range(435, 446)


@pytest.mark.parametrize(
    ("tag", "code"),
    [("ko", "ko"), ("ko-KR", "ko"), ("en-US", "en"), ("english", "en"), ("jv", "jw"), (None, None)],
)
def test_whisper_language(tag: str | None, code: str | None) -> None:
    assert faster_whisper.whisper_language(tag) == code


def test_unsupported_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="xx"):
        faster_whisper.STT(language="xx")


async def test_recognize_speech(
    model_dir: Path, speech: np.ndarray, transcribe_calls: list[tuple[object, dict[str, Any]]]
) -> None:
    engine = faster_whisper.STT(model=str(model_dir), language="en-US", **FULL_WINDOW)

    event = await engine.recognize(frames(speech, SPEECH_RATE))

    data = assert_final_transcript(event, len(speech) / SPEECH_RATE)
    assert data.language == "en"
    [(_, kwargs)] = transcribe_calls
    assert kwargs["language"] == "en"
    assert kwargs["beam_size"] == 1
    assert kwargs["max_new_tokens"] == 8


async def test_language_detection_and_per_call_language(
    model_dir: Path, speech: np.ndarray, transcribe_calls: list[tuple[object, dict[str, Any]]]
) -> None:
    engine = faster_whisper.STT(model=str(model_dir), **FULL_WINDOW)
    buffer = frames(speech, SPEECH_RATE)

    detected = await engine.recognize(buffer)
    korean = await engine.recognize(buffer, language="ko")

    assert [kwargs["language"] for _, kwargs in transcribe_calls] == [None, "ko"]
    assert_final_transcript(detected, len(speech) / SPEECH_RATE)
    assert assert_final_transcript(korean, len(speech) / SPEECH_RATE).language == "ko"


async def test_instances_share_one_model(
    model_dir: Path, speech: np.ndarray, transcribe_calls: list[tuple[object, dict[str, Any]]]
) -> None:
    first = faster_whisper.STT(model=str(model_dir), language="ko", **FULL_WINDOW)
    relative = os.path.relpath(model_dir)
    second = faster_whisper.STT(model=relative, language="en", **FULL_WINDOW)

    await first.recognize(frames(speech, SPEECH_RATE))
    await second.recognize(frames(speech, SPEECH_RATE))

    models = [model for model, _ in transcribe_calls]
    assert len(models) == 2 and models[0] is models[1]
    assert models[0] is faster_whisper.load_model(str(model_dir), device="cpu")


async def test_stream_adapter_with_silero_vad(model_dir: Path, speech: np.ndarray) -> None:
    silence = np.zeros(SPEECH_RATE, dtype=np.int16)
    audio = np.concatenate([silence[: SPEECH_RATE // 2], speech, silence, silence])
    adapter = stt.StreamAdapter(
        stt=faster_whisper.STT(model=str(model_dir), language="ko", **CHEAP_DECODING),
        vad=silero.VAD.load(),
    )

    stream = adapter.stream()
    for frame in frames(audio, SPEECH_RATE):
        stream.push_frame(frame)
    stream.end_input()
    events = [event async for event in stream]
    await adapter.aclose()

    types = [event.type for event in events]
    assert types[:2] == [stt.SpeechEventType.START_OF_SPEECH, stt.SpeechEventType.END_OF_SPEECH]
    finals = [event for event in events if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
    assert len(finals) == 1
    assert finals[0].alternatives[0].language == "ko"
    assert finals[0].alternatives[0].text


@pytest.fixture
def transcribed_seconds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Duration of the audio of every WhisperModel.transcribe call, in call order."""
    durations: list[float] = []
    original = fw_lib.WhisperModel.transcribe

    def spy(self: fw_lib.WhisperModel, audio: np.ndarray, **kwargs: Any) -> Any:
        durations.append(len(audio) / faster_whisper.SAMPLE_RATE)
        return original(self, audio, **kwargs)

    monkeypatch.setattr(fw_lib.WhisperModel, "transcribe", spy)
    return durations


async def stream_events(engine: faster_whisper.STT, audio: np.ndarray) -> list[stt.SpeechEvent]:
    stream = engine.stream()
    for frame in frames(audio, SPEECH_RATE):
        stream.push_frame(frame)
    stream.end_input()
    return [event async for event in stream]


async def test_stream_transcribes_during_the_end_of_speech_silence(
    model_dir: Path, transcribed_seconds: list[float]
) -> None:
    speech = synthesize("Good morning", "en")  # no pause inside, so no early start before the end
    silence = np.zeros(SPEECH_RATE, dtype=np.int16)
    vad = silero.VAD.load(min_silence_duration=0.55)
    engine = faster_whisper.STT(
        model=str(model_dir), language="en", vad=vad, early_transcription_after=0.2, **FULL_WINDOW
    )
    assert engine.capabilities.streaming

    events = await stream_events(engine, np.concatenate([silence[: SPEECH_RATE // 2], speech, silence, silence]))

    types = [event.type for event in events]
    assert types == [
        stt.SpeechEventType.START_OF_SPEECH,
        stt.SpeechEventType.END_OF_SPEECH,
        stt.SpeechEventType.FINAL_TRANSCRIPT,
    ]
    assert events[2].alternatives[0].text and events[2].alternatives[0].language == "en"
    # One transcription, of the speech with ~0.2 s of its silence (plus the VAD's 0.5 s prefix
    # padding): it started before the VAD's 0.55 s of silence ran out, and its result was used.
    [seconds] = transcribed_seconds
    spoken = len(speech) / SPEECH_RATE
    audio_at_end_of_speech = spoken + 0.5 + 0.55
    assert spoken + 0.2 <= seconds < audio_at_end_of_speech - 0.25


async def test_stream_drops_the_early_transcript_when_the_user_goes_on(
    model_dir: Path, speech: np.ndarray, transcribed_seconds: list[float]
) -> None:
    silence = np.zeros(SPEECH_RATE, dtype=np.int16)
    pause = silence[: SPEECH_RATE * 4 // 10]  # long enough to start early, too short to end the speech
    vad = silero.VAD.load(min_silence_duration=0.55)
    engine = faster_whisper.STT(
        model=str(model_dir), language="en", vad=vad, early_transcription_after=0.2, **FULL_WINDOW
    )

    events = await stream_events(engine, np.concatenate([silence[: SPEECH_RATE // 2], speech, pause, speech, silence]))

    types = [event.type for event in events]
    assert types.count(stt.SpeechEventType.END_OF_SPEECH) == 1
    assert types.count(stt.SpeechEventType.FINAL_TRANSCRIPT) == 1
    assert types[-1] == stt.SpeechEventType.FINAL_TRANSCRIPT
    # The transcript that counts covers both sentences, not the early one of the first.
    assert transcribed_seconds[-1] > 2 * len(speech) / SPEECH_RATE


def test_stream_without_vad_points_to_the_adapter() -> None:
    with pytest.raises(NotImplementedError, match="vad="):
        faster_whisper.STT().stream()


async def test_missing_local_model_is_a_clear_error(tmp_path: Path, no_network: None) -> None:
    missing = tmp_path / "no-such-model"
    engine = faster_whisper.STT(model=str(missing), **CHEAP_DECODING)
    errors: list[stt.STTError] = []
    engine.on("error", errors.append)

    with pytest.raises(faster_whisper.ModelNotFoundError) as raised:
        await engine.recognize(frames(np.zeros(1600, dtype=np.int16), 16000))

    assert str(missing) in str(raised.value)
    assert "download-files" in str(raised.value)
    assert not raised.value.retryable
    assert [e.recoverable for e in errors] == [False]


def test_incomplete_local_model_never_downloads(model_dir: Path, tmp_path: Path, no_network: None) -> None:
    (tmp_path / "model.bin").write_bytes((model_dir / "model.bin").read_bytes())
    (tmp_path / "config.json").write_bytes((model_dir / "config.json").read_bytes())

    with pytest.raises(faster_whisper.ModelNotFoundError, match="tokenizer.json"):
        faster_whisper.load_model(str(tmp_path), device="cpu")


def test_named_model_offline_uses_only_the_local_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    requests: list[dict[str, Any]] = []

    def cache_only(repo_id: str, **kwargs: Any) -> str:
        requests.append({"repo_id": repo_id, **kwargs})
        raise huggingface_hub.errors.LocalEntryNotFoundError("not in the local cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", cache_only)

    with pytest.raises(faster_whisper.ModelNotFoundError, match="HF_HUB_OFFLINE") as raised:
        faster_whisper.load_model("small", device="cpu")

    assert "download-files" in str(raised.value)
    assert [(r["repo_id"], r["local_files_only"]) for r in requests] == [("Systran/faster-whisper-small", True)]


def test_unknown_model_name(no_network: None) -> None:
    with pytest.raises(faster_whisper.ModelNotFoundError, match="large-v3"):
        faster_whisper.load_model("enormous", device="cpu")


def test_download_model_checks_local_dirs_without_network(model_dir: Path, no_network: None) -> None:
    assert faster_whisper.download_model(str(model_dir)) == model_dir.resolve()


@pytest.mark.parametrize(("duration", "window"), [(2.0, 8.0), (6.5, 9.0), (20.0, 22.0), (27.9, None), (40.0, None)])
def test_encoder_window_keeps_two_seconds_past_the_speech(duration: float, window: float | None) -> None:
    assert window_seconds(duration, 8.0) == window


async def test_short_utterance_skips_the_30_second_window(
    model_dir: Path, speech: np.ndarray, transcribe_calls: list[tuple[object, dict[str, Any]]]
) -> None:
    engine = faster_whisper.STT(model=str(model_dir), **CHEAP_DECODING)
    assert engine.options.encoder_window == 8.0

    detected = await engine.recognize(frames(speech, SPEECH_RATE))
    korean = await engine.recognize(frames(speech, SPEECH_RATE), language="ko")

    assert transcribe_calls == []
    assert assert_final_transcript(detected, len(speech) / SPEECH_RATE).language in faster_whisper.WHISPER_LANGUAGES
    assert assert_final_transcript(korean, len(speech) / SPEECH_RATE).language == "ko"


async def test_long_utterance_gets_the_full_window(
    model_dir: Path, speech: np.ndarray, transcribe_calls: list[tuple[object, dict[str, Any]]]
) -> None:
    engine = faster_whisper.STT(model=str(model_dir), language="en", **CHEAP_DECODING)
    long_speech = np.tile(speech, int(29 * SPEECH_RATE / len(speech)) + 1)

    await engine.recognize(frames(long_speech, SPEECH_RATE))

    assert len(transcribe_calls) == 1


async def test_stream_sends_the_early_transcript_as_a_preflight(model_dir: Path) -> None:
    """Paced in real time, the early transcript is ready while the VAD still counts its silence."""
    speech = synthesize("Good morning", "en")
    silence = np.zeros(SPEECH_RATE, dtype=np.int16)
    vad = silero.VAD.load(min_silence_duration=1.0)
    engine = faster_whisper.STT(
        model=str(model_dir), language="en", vad=vad, early_transcription_after=0.1, **CHEAP_DECODING
    )
    stream = engine.stream()

    async def speak() -> None:
        for frame in frames(np.concatenate([silence[: SPEECH_RATE // 2], speech, silence, silence]), SPEECH_RATE):
            stream.push_frame(frame)
            await asyncio.sleep(frame.duration)
        stream.end_input()

    speaking = asyncio.create_task(speak())
    events = [event async for event in stream]
    await speaking

    types = [event.type for event in events]
    assert types == [  # the early transcription had 0.9 s to finish before the end of speech
        stt.SpeechEventType.START_OF_SPEECH,
        stt.SpeechEventType.PREFLIGHT_TRANSCRIPT,
        stt.SpeechEventType.END_OF_SPEECH,
        stt.SpeechEventType.FINAL_TRANSCRIPT,
    ]
    assert events[1].alternatives[0].text == events[3].alternatives[0].text != ""
