"""The avatar packs as the page sees them, and their thumbnails."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from collections.abc import Sequence

from livekit.plugins.musetalk.packs import MANIFEST_NAME
from livekit.plugins.musetalk import AvatarPack, AvatarPackError, list_packs, load_pack, validate_pack_id
from PIL import Image
from pydantic import BaseModel

THUMBNAIL_SIZE = 256


class LanguageVoices(BaseModel):
    language: str
    voices: dict[str, str]
    """TTS provider → the pack's default voice for this language."""


class AvatarInfo(BaseModel):
    id: str
    display_name: str
    thumbnail_url: str
    width: int
    height: int
    languages: list[LanguageVoices]
    licence: str
    attribution: str
    source_url: str | None
    uploaded: bool = False
    """Made from a photo uploaded to this server: it can be deleted (DELETE /api/avatars/{id})."""
    preview_url: str
    """The CPU engine's preview: the face as found, and a few mouth shapes and a blink."""


def avatar_info(pack: AvatarPack, uploaded: bool = False) -> AvatarInfo:
    manifest = pack.manifest
    return AvatarInfo(
        id=pack.id,
        display_name=manifest.display_name,
        thumbnail_url=f"/api/avatars/{pack.id}/thumbnail",
        width=manifest.width,
        height=manifest.height,
        languages=[LanguageVoices(language=lang, voices=voices) for lang, voices in manifest.default_voice.items()],
        licence=manifest.licence,
        attribution=manifest.attribution,
        source_url=manifest.source_url,
        uploaded=uploaded,
        preview_url=f"/api/avatars/{pack.id}/preview",
    )


def list_avatars(avatars_dir: Path, uploads_dir: Path) -> list[AvatarInfo]:
    """The shipped packs, then the uploaded ones, oldest first (an uploaded pack never shadows a shipped one)."""
    packs = list_packs([avatars_dir, uploads_dir])
    shipped = [p for p in packs if p.directory.parent != uploads_dir]
    uploaded = sorted((p for p in packs if p.directory.parent == uploads_dir), key=_created)
    return [avatar_info(p) for p in shipped] + [avatar_info(p, uploaded=True) for p in uploaded]


def _created(pack: AvatarPack) -> float:
    try:
        return (pack.directory / MANIFEST_NAME).stat().st_mtime
    except OSError:
        return 0.0


def find_pack(avatar_dirs: Sequence[Path], pack_id: str) -> AvatarPack | None:
    """The pack, or None when the id is invalid, unknown or its pack is broken."""
    try:
        return load_pack(validate_pack_id(pack_id), avatar_dirs)
    except AvatarPackError:
        return None


def thumbnail_png(pack: AvatarPack) -> bytes:
    return _thumbnail(pack.source_path, pack.source_digest)


@lru_cache(maxsize=64)
def _thumbnail(source: Path, digest: str) -> bytes:
    """A centred square crop of the portrait, THUMBNAIL_SIZE px (the digest keys the cache)."""
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side)).resize((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return out.getvalue()
