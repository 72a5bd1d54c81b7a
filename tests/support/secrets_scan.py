"""Look for secrets where they must never be: log files, captured output, and what room participants receive.

The test run gives every worker and web server known fake provider keys (`fake_provider_env`), so a
leak of a key is findable by value. A finding names the secret and where it was, never the value.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from livekit import rtc

from .rooms import agent_participant, wait_for
from .stack import LiveKitServer

FAKE_GEMINI_KEY = "AIzaFAKE-streaming-avatar-gemini-7c41d09e"
FAKE_ELEVENLABS_KEY = "sk_fake_streaming_avatar_eleven_2b9f60a3"
FAKE_GCP_PRIVATE_KEY_ID = "fake-streaming-avatar-gcp-key-id-5e18c7b2"
FAKE_GCP_PRIVATE_KEY = "FAKE-streaming-avatar-gcp-private-key-93d0a4f1"
ROOM_TEXT_TOPICS = ("lk.transcription", "lk.chat", "streaming-avatar.notice")
ROOM_BYTE_TOPICS = ("lk.audio_stream",)


def fake_provider_env(directory: Path) -> dict[str, str]:
    """GOOGLE_API_KEY, ELEVEN_API_KEY and GOOGLE_APPLICATION_CREDENTIALS (a service-account file written
    to `directory`) set to known fake values."""
    directory.mkdir(parents=True, exist_ok=True)
    credentials = directory / "fake-gcp-service-account.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "streaming-avatar-fake",
                "private_key_id": FAKE_GCP_PRIVATE_KEY_ID,
                "private_key": f"-----BEGIN PRIVATE KEY-----\n{FAKE_GCP_PRIVATE_KEY}\n-----END PRIVATE KEY-----\n",
                "client_email": "fake@streaming-avatar-fake.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    return {
        "GOOGLE_API_KEY": FAKE_GEMINI_KEY,
        "ELEVEN_API_KEY": FAKE_ELEVENLABS_KEY,
        "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
    }


FAKE_PROVIDER_SECRETS = {
    "GOOGLE_API_KEY": FAKE_GEMINI_KEY,
    "ELEVEN_API_KEY": FAKE_ELEVENLABS_KEY,
    "GOOGLE_APPLICATION_CREDENTIALS private_key_id": FAKE_GCP_PRIVATE_KEY_ID,
    "GOOGLE_APPLICATION_CREDENTIALS private_key": FAKE_GCP_PRIVATE_KEY,
}


def run_secrets(server: LiveKitServer) -> dict[str, str]:
    """name → value of every secret of a test run: the LiveKit API secret and the fake provider keys."""
    return {"LIVEKIT_API_SECRET": server.api_secret, **FAKE_PROVIDER_SECRETS}


@dataclass(frozen=True)
class Leak:
    secret: str
    """The secret's name, never its value."""
    where: str

    def __str__(self) -> str:
        return f"{self.secret} appears in {self.where}"


def secrets_in(text: str, secrets: Mapping[str, str]) -> list[str]:
    """Names of the secrets whose value occurs in `text`."""
    return [name for name, value in secrets.items() if value and value in text]


def scan_texts(texts: Iterable[tuple[str, str]], secrets: Mapping[str, str]) -> list[Leak]:
    """Leaks in (where, text) pairs; each line of a text is reported on its own (where:line)."""
    leaks: list[Leak] = []
    for where, text in texts:
        for number, line in enumerate(text.splitlines(), 1):
            leaks += [Leak(name, f"{where}:{number}") for name in secrets_in(line, secrets)]
    return leaks


def scan_files(paths: Iterable[Path], secrets: Mapping[str, str]) -> list[Leak]:
    """Leaks in files, read as bytes (logs, screenshots, anything a run keeps), named file:line."""
    encoded = {name: value.encode() for name, value in secrets.items() if value}
    leaks: list[Leak] = []
    for path in paths:
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            leaks += [Leak(name, f"{path}:{number}") for name, value in encoded.items() if value in line]
    return leaks


def scan_log_dir(log_dir: Path, secrets: Mapping[str, str]) -> list[Leak]:
    return scan_files(sorted(p for p in log_dir.rglob("*") if p.is_file()), secrets)


@dataclass
class RoomRecorder:
    """Everything one participant receives from the others: text and byte streams on the topics the agent
    and its avatar use, data packets, participant names, metadata and attributes, and the room's metadata.

    `messages` holds (source, text) in arrival order; `scan` looks for secrets in all of it.
    """

    room: rtc.Room
    messages: list[tuple[str, str]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        for topic in ROOM_TEXT_TOPICS:
            self.room.register_text_stream_handler(topic, self._on_text)
        for topic in ROOM_BYTE_TOPICS:
            self.room.register_byte_stream_handler(topic, self._on_bytes)
        self.room.on("data_received", self._on_data)
        self.room.on("participant_connected", self._on_participant)
        self.room.on("participant_attributes_changed", self._on_attributes)
        self.room.on("participant_metadata_changed", self._on_metadata)
        self.room.on("participant_name_changed", self._on_name)
        self.room.on("room_metadata_changed", self._on_room_metadata)
        self._keep("room metadata", self.room.metadata)
        for participant in self.room.remote_participants.values():
            self._on_participant(participant)

    def _keep(self, source: str, text: str) -> None:
        self.messages.append((source, text))

    def _spawn(self, source: str, reading: asyncio.Future[str]) -> None:
        async def read() -> None:
            self._keep(source, await reading)

        task = asyncio.create_task(read())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_text(self, reader: rtc.TextStreamReader, identity: str) -> None:
        self._spawn(f"text stream {reader.info.topic!r} from {identity}", asyncio.ensure_future(reader.read_all()))

    def _on_bytes(self, reader: rtc.ByteStreamReader, identity: str) -> None:
        async def read_all() -> str:
            return b"".join([chunk async for chunk in reader]).decode(errors="replace")

        self._spawn(f"byte stream {reader.info.topic!r} from {identity}", asyncio.ensure_future(read_all()))

    def _on_data(self, packet: rtc.DataPacket) -> None:
        sender = packet.participant.identity if packet.participant else "server"
        self._keep(f"data packet {packet.topic!r} from {sender}", packet.data.decode(errors="replace"))

    def _on_participant(self, p: rtc.RemoteParticipant) -> None:
        self._keep(f"identity and name of {p.identity}", f"{p.identity} {p.name}")
        self._on_metadata(p, "", p.metadata)
        self._on_attributes(dict(p.attributes), p)

    def _on_attributes(self, changed: dict[str, str], p: rtc.Participant) -> None:
        self._keep(f"attributes of {p.identity}", json.dumps(changed))

    def _on_metadata(self, p: rtc.Participant, _old: str, new: str) -> None:
        self._keep(f"metadata of {p.identity}", new)

    def _on_name(self, p: rtc.Participant, _old: str, new: str) -> None:
        self._keep(f"name of {p.identity}", new)

    def _on_room_metadata(self, _old: str, new: str) -> None:
        self._keep("room metadata", new)

    def texts_from(self, source_prefix: str) -> list[str]:
        return [text for source, text in self.messages if source.startswith(source_prefix)]

    def scan(self, secrets: Mapping[str, str]) -> list[Leak]:
        numbered = ((f"room message #{i} ({source})", text) for i, (source, text) in enumerate(self.messages))
        return scan_texts(numbered, secrets)

    async def close(self) -> None:
        """Wait briefly for streams still being read, then stop reading."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        for task in self._tasks:
            task.cancel()


@dataclass
class ConversationScan:
    """What one user received in a conversation, and the secrets found in it."""

    messages: int
    replies: list[str]
    notices: list[str]
    leaks: list[Leak]


async def scan_conversation(
    server: LiveKitServer,
    agent_name: str,
    room_name: str,
    secrets: Mapping[str, str],
    *,
    metadata: str = "",
    chat: Iterable[str] = ("what is the weather", "tell me about the sea"),
    timeout: float = 120,
) -> ConversationScan:
    """A user dispatches the agent, types each of `chat` (waiting for the spoken reply, then interrupting it
    by RPC), ends the session by RPC and waits for the agent to leave; everything received is scanned."""
    room = rtc.Room()
    await room.connect(server.url, server.token(room_name, "user"))
    recorder = RoomRecorder(room)
    try:
        await server.dispatch(agent_name, room_name, metadata)
        agent = await wait_for(lambda: agent_participant(room), timeout, what="agent participant")
        await wait_for(lambda: agent.attributes.get("lk.agent.state") == "listening", timeout, what="agent listening")
        replies = f"text stream 'lk.transcription' from {agent.identity}"
        for text in chat:
            answered = len(recorder.texts_from(replies))
            await room.local_participant.send_text(text, topic="lk.chat")
            await wait_for(lambda: len(recorder.texts_from(replies)) > answered, timeout, what=f"a reply to {text!r}")
            await room.local_participant.perform_rpc(
                destination_identity=agent.identity, method="interrupt", payload=""
            )
        await room.local_participant.perform_rpc(destination_identity=agent.identity, method="end_session", payload="")
        await wait_for(lambda: agent_participant(room) is None, timeout, what="the agent leaving")
    finally:
        await recorder.close()
        await room.disconnect()
    return ConversationScan(
        messages=len(recorder.messages),
        replies=recorder.texts_from(replies),
        notices=recorder.texts_from(f"text stream 'streaming-avatar.notice' from {agent.identity}"),
        leaks=recorder.scan(secrets),
    )
