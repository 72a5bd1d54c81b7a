from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from agent.metadata import (
    MAX_METADATA_BYTES,
    SCHEMA_PATH,
    DispatchMetadata,
    metadata_json_schema,
    parse_dispatch_metadata,
)
from agent.offline.espeak import espeak_voice_for, language_notice
from support.metadata_strategies import RAW_METADATA

KNOWN = {"default", "alice"}


def test_committed_schema_matches_model() -> None:
    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed == metadata_json_schema(), "run `python -m agent schema` and commit the result"


def test_empty_metadata_gives_defaults() -> None:
    parsed = parse_dispatch_metadata("", known_avatars=KNOWN)
    assert parsed.metadata == DispatchMetadata()
    assert parsed.metadata.language == "ko" and parsed.metadata.tts_provider == "google"
    assert parsed.problems == []


def test_valid_metadata_is_taken_as_is() -> None:
    raw = json.dumps({"avatar": "alice", "language": "en-US", "tts_provider": "elevenlabs", "voice": "Rachel"})
    parsed = parse_dispatch_metadata(raw, known_avatars=KNOWN)
    assert parsed.problems == []
    assert (parsed.metadata.avatar, parsed.metadata.language, parsed.metadata.voice) == ("alice", "en-US", "Rachel")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{oops", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"avatar": "x" * 10, "instructions": "y" * MAX_METADATA_BYTES}), "larger than"),
        (json.dumps({"avatar": "ghost"}), "unknown avatar 'ghost'"),
        (json.dumps({"avatar": "../../etc/passwd"}), "field 'avatar' is invalid"),
        (json.dumps({"avatar": "Default/.."}), "field 'avatar' is invalid"),
        (json.dumps({"language": "korean!"}), "field 'language' is invalid"),
        (json.dumps({"tts_provider": "acme"}), "field 'tts_provider' is invalid"),
        (json.dumps({"bogus": 1}), "unknown field 'bogus'"),
    ],
)
def test_bad_metadata_falls_back_per_field(raw: str, expected: str) -> None:
    parsed = parse_dispatch_metadata(raw, known_avatars=KNOWN)
    assert any(expected in p for p in parsed.problems), parsed.problems
    assert parsed.metadata.avatar in KNOWN


def test_one_bad_field_keeps_the_good_ones() -> None:
    raw = json.dumps({"language": 7, "voice": "Rachel", "avatar": "alice"})
    parsed = parse_dispatch_metadata(raw, known_avatars=KNOWN)
    assert parsed.metadata.language == "ko"
    assert parsed.metadata.voice == "Rachel" and parsed.metadata.avatar == "alice"
    assert len(parsed.problems) == 1


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=RAW_METADATA)
def test_any_metadata_gives_a_session_and_readable_problems(raw: str) -> None:
    """Whatever a dispatcher sends, the job gets valid settings, every problem is a sentence, and the
    language it ends up with is one the offline voice speaks or says it replaces."""
    parsed = parse_dispatch_metadata(raw, known_avatars={"default"})

    assert isinstance(parsed.metadata, DispatchMetadata)
    assert parsed.metadata.avatar == "default"
    assert all(isinstance(problem, str) and problem for problem in parsed.problems)
    voice = espeak_voice_for(parsed.metadata.language)
    assert voice.speaks_language or language_notice(parsed.metadata.language)
