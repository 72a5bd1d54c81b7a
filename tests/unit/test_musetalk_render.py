"""MuseTalk preparation and rendering with tiny random-weight checkpoints: frame size, changes confined to
the blend mask, determinism, the prepared cache, frames without a face, batched == per-session output,
and a late session not holding the others back."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from livekit.plugins.musetalk import AvatarFrame, AvatarPack, load_pack
from livekit.plugins.musetalk.caches import cache_path
from livekit.plugins.musetalk.engines.musetalk.engine import MuseTalkEngine
from livekit.plugins.musetalk.engines.musetalk.engine import PreparedMuseTalkAvatar as PreparedAvatar
from livekit.plugins.musetalk.engines.musetalk.inference import MuseTalkRunner, RenderItem
from livekit.plugins.musetalk.engines.musetalk.prepare import AvatarMaterial, prepare_material
from livekit.plugins.musetalk.engines.musetalk.scheduler import Request, flush_time, take_batch
from livekit.plugins.musetalk.landmarks import detect_face
from support.paths import REPO

RATE = 16_000
SPEECH_FRAMES = 4


@pytest.fixture(scope="module")
def avatars_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default pack plus two variants of its portrait (mirrored; zoomed in), each a pack of its own."""
    root = tmp_path_factory.mktemp("avatars")
    shutil.copytree(REPO / "avatars" / "default", root / "default")
    portrait = Image.open(root / "default" / "portrait.png").convert("RGB")
    zoomed_in = portrait.crop((64, 32, 448, 416)).resize(portrait.size)
    for pack_id, image in (("mirrored", portrait.transpose(Image.Transpose.FLIP_LEFT_RIGHT)), ("large", zoomed_in)):
        (root / pack_id).mkdir()
        image.save(root / pack_id / "portrait.png")
        manifest = (root / "default" / "manifest.json").read_text().replace('"id": "default"', f'"id": "{pack_id}"')
        (root / pack_id / "manifest.json").write_text(manifest)
    return root


@pytest.fixture(scope="module")
def engine(tiny_dir: Path, avatar_cache: Path) -> Iterator[MuseTalkEngine]:
    engine = MuseTalkEngine(tiny_dir, device="cpu", gather_s=1.0)  # frame deadlines bound the wait
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def packs(avatars_dir: Path) -> list[AvatarPack]:
    return [load_pack(pack_id, avatars_dir) for pack_id in ("default", "mirrored", "large")]


@pytest.fixture(scope="module")
def prepared(engine: MuseTalkEngine, packs: list[AvatarPack]) -> list[PreparedAvatar]:
    return [engine.prepare(pack) for pack in packs]


def _speech(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(RATE * SPEECH_FRAMES // 25) * 4000).astype(np.int16)


def _speak(engine: MuseTalkEngine, avatar: PreparedAvatar, seed: int) -> list[AvatarFrame]:
    session = engine.new_session(avatar, sample_rate=RATE)
    session.push_audio(_speech(seed))
    session.end_segment()
    frames = [session.next_frame() for _ in range(SPEECH_FRAMES + 1)]
    session.close()
    return frames


def test_rendered_frames_change_only_inside_the_blend_mask(
    engine: MuseTalkEngine, prepared: list[PreparedAvatar]
) -> None:
    avatar = prepared[0]
    frames = _speak(engine, avatar, seed=1)
    source = avatar.material.frames[0].numpy()
    mask = AvatarMaterial.load(avatar.cache_dir).masks[0]
    assert [f.speaking for f in frames] == [True] * SPEECH_FRAMES + [False]
    for frame in frames[:SPEECH_FRAMES]:
        assert frame.image.shape == (512, 512, 3) and frame.image.dtype == np.uint8
        changed = (frame.image != source).any(axis=-1)
        assert changed.sum() > 1000  # the face was replaced ...
        assert not changed[mask == 0].any()  # ... and nothing outside the blend region moved
    x1, y1, x2, y2 = avatar.material.boxes[0]
    assert mask[:y1].max() == 0 and mask[y2:].max() == 0 and mask[y1:y2, x1:x2].max() == 255
    assert np.array_equal(frames[-1].image, source)  # idle: the portrait itself


def test_held_session_idles_and_keeps_its_speech(engine: MuseTalkEngine, prepared: list[PreparedAvatar]) -> None:
    session = engine.new_session(prepared[0], sample_rate=RATE)
    speech = _speech(seed=3)
    session.push_audio(speech)
    session.end_segment()
    first = session.next_frame()
    session.hold(True)
    held = [session.next_frame() for _ in range(3)]
    session.hold(False)
    rest = [session.next_frame() for _ in range(SPEECH_FRAMES)]
    session.close()
    assert first.speaking and not any(f.speaking for f in held)
    assert [f.speaking for f in rest] == [True] * (SPEECH_FRAMES - 1) + [False]
    played = np.concatenate([f.audio for f in [first, *rest] if f.audio is not None])
    assert np.array_equal(played, speech)


def test_rendering_is_deterministic(engine: MuseTalkEngine, prepared: list[PreparedAvatar]) -> None:
    first = _speak(engine, prepared[0], seed=2)
    second = _speak(engine, prepared[0], seed=2)
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.image, b.image)
    other = _speak(engine, prepared[0], seed=3)
    assert not np.array_equal(first[1].image, other[1].image)  # and it does follow the audio


def test_preparation_is_cached_by_model_and_source(
    engine: MuseTalkEngine, packs: list[AvatarPack], prepared: list[PreparedAvatar]
) -> None:
    again = engine.prepare(packs[0])
    assert again.from_cache and again.cache_dir == prepared[0].cache_dir
    assert again.cache_dir == cache_path(packs[0], engine.name, engine.cache_version, packs[0].video_spec)
    assert Image.open(again.preview_path).size == (512, 512)
    assert engine.models.vae_digest[:12] in again.cache_dir.name
    assert len({p.cache_dir for p in prepared}) == 3


def test_frames_without_a_face_keep_their_place(engine: MuseTalkEngine) -> None:
    portrait = np.asarray(Image.open(REPO / "avatars" / "default" / "portrait.png").convert("RGB"))
    blank = np.full_like(portrait, 90)
    mesh = detect_face(portrait).points
    material = prepare_material([blank, portrait, blank], [None, mesh, None], engine.models.vae)
    assert material.face_boxes()[0] is None and material.face_boxes()[2] is None
    assert material.face_boxes()[1] is not None
    assert not material.latents[[0, 2]].any() and material.latents[1].any()
    assert not material.masks[[0, 2]].any()
    alone = prepare_material([portrait], [mesh], engine.models.vae)
    assert np.array_equal(alone.latents[0], material.latents[1])
    assert np.array_equal(alone.boxes[0], material.boxes[1])
    assert material.cycle() == (0, 1, 2, 2, 1, 0)


def test_batched_frames_equal_per_session_frames(engine: MuseTalkEngine, prepared: list[PreparedAvatar]) -> None:
    alone = [_speak(engine, avatar, seed=10 + i) for i, avatar in enumerate(prepared)]
    batch_sizes: list[int] = []
    engine.scheduler.runner = _Recording(engine.runner, batch_sizes)  # type: ignore[assignment]
    together: list[list[AvatarFrame]] = [[] for _ in prepared]
    sessions = [engine.new_session(avatar, sample_rate=RATE) for avatar in prepared]
    try:
        for i, session in enumerate(sessions):
            session.push_audio(_speech(10 + i))
            session.end_segment()

        def play(i: int) -> None:
            together[i].extend(sessions[i].next_frame() for _ in range(SPEECH_FRAMES + 1))

        threads = [threading.Thread(target=play, args=(i,)) for i in range(len(sessions))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.scheduler.runner = engine.runner
        for session in sessions:
            session.close()
    assert sum(batch_sizes) == 3 * SPEECH_FRAMES
    assert max(batch_sizes) >= 2  # the avatars did share model calls
    for mine, reference in zip(together, alone, strict=True):
        for a, b in zip(mine, reference, strict=True):
            assert a.speaking == b.speaking
            assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 1


class _Recording:
    """The runner, noting the size of every frame batch."""

    def __init__(self, runner: MuseTalkRunner, sizes: list[int]) -> None:
        self._runner, self._sizes = runner, sizes

    def encode_audio(self, mels: np.ndarray) -> torch.Tensor:
        return self._runner.encode_audio(mels)

    def render(self, items: Sequence[RenderItem]) -> list[torch.Tensor]:
        self._sizes.append(len(items))
        return self._runner.render(items)


def test_a_late_session_does_not_stall_the_others(engine: MuseTalkEngine, prepared: list[PreparedAvatar]) -> None:
    late = engine.new_session(prepared[2], sample_rate=RATE)  # attached, but never asks for a frame
    try:
        frames = _speak(engine, prepared[0], seed=4)
    finally:
        late.close()
    assert [f.speaking for f in frames] == [True] * SPEECH_FRAMES + [False]


def test_the_batching_policy() -> None:
    def request(submitted: float, deadline: float) -> Request:
        return Request(payload=None, submitted=submitted, deadline=deadline)

    waiting = [request(10.0, 10.04), request(10.01, 10.05)]
    # 3 sessions attached, 2 waiting: wait for the third only until the gather time or the deadline
    assert flush_time(waiting, 3, max_batch=16, gather_s=0.005, batch_s=0.01) == pytest.approx(10.005)
    assert flush_time(waiting, 3, max_batch=16, gather_s=0.5, batch_s=0.01) == pytest.approx(10.03)
    assert flush_time(waiting, 2, max_batch=16, gather_s=0.5, batch_s=0.01) == float("-inf")  # everyone is in
    assert flush_time(waiting, 5, max_batch=2, gather_s=0.5, batch_s=0.01) == float("-inf")  # batch is full
    assert flush_time([], 3, max_batch=16, gather_s=0.5, batch_s=0.01) == float("inf")
    pending = [request(0, d) for d in (3.0, 1.0, 2.0)]
    assert [r.deadline for r in take_batch(pending, 2)] == [1.0, 2.0]
    assert [r.deadline for r in pending] == [3.0]


def test_load_reports_attached_sessions(engine: MuseTalkEngine, prepared: list[PreparedAvatar]) -> None:
    sessions = [engine.new_session(prepared[0]) for _ in range(4)]
    assert engine.load() >= 4 / engine.scheduler.max_sessions
    for session in sessions:
        session.close()
    assert engine.scheduler.attached == 0
