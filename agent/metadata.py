"""Dispatch metadata: the JSON a dispatch rule attaches to a job.

It picks avatar, language, voice, TTS provider, LLM model and persona. Bad
metadata never stops a job: each invalid field falls back to its default and
the problem is reported (log + room), see `parse_dispatch_metadata`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from livekit.plugins.musetalk import PACK_ID_PATTERN

MAX_METADATA_BYTES = 16 * 1024
SCHEMA_PATH = Path(__file__).with_name("dispatch_metadata.schema.json")
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class SessionConfig(BaseModel):
    """What a user may choose for a session: the web API accepts exactly this (strictly)."""

    model_config = ConfigDict(extra="forbid", title="Session config")

    language: str = Field(default="ko", description="BCP-47 language tag of the conversation, e.g. ko, en-US.")
    tts_provider: Literal["google", "elevenlabs"] = Field(
        default="google", description="Preferred TTS provider; falls back when its key is missing."
    )
    voice: str | None = Field(
        default=None,
        max_length=128,
        description="Provider voice name/id; default: the avatar pack's voice for the language.",
    )
    instructions: str | None = Field(
        default=None, max_length=8000, description="Persona / system instructions for the agent."
    )

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if not _BCP47.match(value):
            raise ValueError(f"not a BCP-47 language tag: {value!r}")
        return value


class DispatchMetadata(SessionConfig):
    """Per-session choices made by whoever dispatches the agent: a session config plus the
    avatar and, for operators, the LLM model."""

    model_config = ConfigDict(extra="forbid", title="Streaming Avatar dispatch metadata")

    avatar: str = Field(
        default="default",
        pattern=PACK_ID_PATTERN.pattern,
        description="Id of an avatar pack: in the worker's avatars/ directory, else in its uploads directory.",
    )
    llm_model: str | None = Field(
        default=None, max_length=128, description="Gemini model name; default: the worker's configured model."
    )


@dataclass
class ParsedMetadata:
    metadata: DispatchMetadata
    problems: list[str] = field(default_factory=list)


def parse_dispatch_metadata(raw: str | None, *, known_avatars: set[str]) -> ParsedMetadata:
    """Parse job metadata leniently: every field that is wrong falls back to its default."""
    if not raw or not raw.strip():
        return ParsedMetadata(DispatchMetadata())
    if len(raw.encode("utf-8")) > MAX_METADATA_BYTES:
        return ParsedMetadata(
            DispatchMetadata(), [f"metadata is larger than {MAX_METADATA_BYTES} bytes; using defaults"]
        )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        return ParsedMetadata(DispatchMetadata(), [f"metadata is not valid JSON ({e.msg}); using defaults"])
    if not isinstance(data, dict):
        return ParsedMetadata(DispatchMetadata(), ["metadata must be a JSON object; using defaults"])

    problems: list[str] = []
    valid = _drop_invalid_fields(data, problems)
    metadata = DispatchMetadata.model_validate(valid)
    if metadata.avatar not in known_avatars:
        problems.append(f"unknown avatar {metadata.avatar!r}; using 'default'")
        metadata = metadata.model_copy(update={"avatar": "default"})
    return ParsedMetadata(metadata, problems)


def _drop_invalid_fields(data: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    valid: dict[str, Any] = {}
    for key, value in data.items():
        if key not in DispatchMetadata.model_fields:
            problems.append(f"unknown field {key!r} ignored")
            continue
        try:
            DispatchMetadata.model_validate({key: value})
        except ValidationError as e:
            reason = e.errors()[0]["msg"]
            problems.append(f"field {key!r} is invalid ({reason}); using the default")
            continue
        valid[key] = value
    return valid


def metadata_json_schema() -> dict[str, Any]:
    return DispatchMetadata.model_json_schema()


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(metadata_json_schema(), indent=2, ensure_ascii=False) + "\n")
