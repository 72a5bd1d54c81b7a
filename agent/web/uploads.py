"""Avatar packs made from one uploaded photo: checked, framed, prepared and stored in the uploads directory.

An upload becomes `<uploads_dir>/u-<12 hex>/` (`manifest.json` + `portrait.jpg`), a pack like
the shipped ones, which the worker finds by id after its own `avatars/` (see WorkerSettings.avatar_dirs).
Shipped ids never take the `u-` + 12 hex form by convention, and a shipped pack of the same id
would win anyway: an upload never shadows or overwrites one.

Every check runs before anything is written; the pack is then built in a staging directory
beside its final place and renamed into place only once the CPU engine has prepared it, so a
failure leaves nothing behind (the engine's own cache is atomic too).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import re
import secrets
import shutil
import struct
import time
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from livekit.plugins.musetalk import (
    AvatarPack,
    AvatarPackError,
    EngineConfig,
    PackManifest,
    load_engine,
    list_packs,
    load_pack,
    validate_pack_id,
)
from livekit.plugins.musetalk.caches import default_cache_root
from livekit.plugins.musetalk.engines.base import PREVIEW_FILE
from livekit.plugins.musetalk.landmarks import FaceBox, LandmarksUnavailableError, NoFaceFoundError, detect_face, detect_faces

logger = logging.getLogger("streaming-avatar.web")

UPLOAD_ID_PATTERN = re.compile(r"^u-[0-9a-f]{12}$")
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
ACCEPTED_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PIXELS = 40_000_000
"""Decoded size limit, checked from the header before any pixel is decoded (a 10 MB file can declare gigapixels)."""
MIN_SIDE = 128
MIN_FACE_PX = 64
STORED_MAX_SIDE = 1024
DETECT_MAX_SIDE = 1024
FACE_SHARE = 0.38
"""The face's width as a share of the framed portrait's side (the shipped portrait's is 0.37)."""
FACE_CENTRE_Y = 0.45
"""Where the face's centre sits in the framed portrait, from the top."""
SIMILAR_FACE = 0.4
"""A second face at least this share of the largest one's width makes the photo ambiguous; smaller
ones (people far behind) are ignored: the avatar animates the largest face."""
PREVIEW_ENGINE = "cpu"
STAGING_PREFIX = ".staging-"
STALE_STAGING_S = 600
SOURCE_NAME = "portrait.jpg"
FALLBACK_VOICES = {
    "en": {"google": "en-US-Standard-C", "elevenlabs": "21m00Tcm4TlvDq8ikWAM"},
    "ko": {"google": "ko-KR-Standard-A", "elevenlabs": "21m00Tcm4TlvDq8ikWAM"},
}
"""Voices of an uploaded avatar when the shipped `default` pack names none."""

Progress = Callable[[str, float], None]

# Other formats named in the 415 answer, by their first bytes.
_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"\x00\x00\x01\x00", "ICO"),
)


class UploadError(Exception):
    """A rejected upload: `status` is the HTTP status, the message says what to do about it."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class CheckedPortrait:
    """A photo that passed every check, framed around its face and ready to store."""

    image: Image.Image
    face: FaceBox


def _named_format(data: bytes) -> str | None:
    head = data[:32]
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("ascii", "replace").strip()
        return "AVIF" if brand.startswith("avi") else "HEIC" if brand.startswith(("hei", "mif")) else None
    if head.lstrip().startswith((b"<svg", b"<?xml")):
        return "SVG"
    return None


def decode_image(data: bytes) -> Image.Image:
    """The photo's pixels as RGB with its EXIF orientation applied, or an UploadError (413, 415 or 422)."""
    if not data:
        raise UploadError(415, "the upload is empty: send a JPEG, PNG or WebP photo as the request body")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise UploadError(
                    413,
                    f"the image is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
                    f"the limit is {MAX_PIXELS // 1_000_000} megapixels: scale it down and upload it again",
                )
            opened.load()
            image = _to_rgb(ImageOps.exif_transpose(opened))
    except UnidentifiedImageError:
        named = _named_format(data)
        what = f"a {named} image" if named else "not a JPEG, PNG or WebP image"
        raise UploadError(415, f"the upload is {what}: send a JPEG, PNG or WebP photo") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(
            413, f"the image declares more pixels than allowed ({MAX_PIXELS // 1_000_000} megapixels)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise UploadError(
            422, f"the image could not be decoded (it looks truncated or damaged: {exc}); export it again"
        ) from None
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB; transparent parts become white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _find_faces(image: Image.Image) -> list[FaceBox]:
    """The detector's faces, in pixels of `image`, found on a copy at most DETECT_MAX_SIDE px (the model
    sees 256 px anyway; a 12-megapixel photo takes ~0.8 s at full size)."""
    scale = min(1.0, DETECT_MAX_SIDE / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    faces = []
    for face in detect_faces(np.asarray(image)):
        x0, y0, x1, y1 = face.box
        faces.append(FaceBox((x0 / scale, y0 / scale, x1 / scale, y1 / scale), face.score))
    return faces


def _where(face: FaceBox, width: int, height: int) -> str:
    x = (face.box[0] + face.box[2]) / 2 / width
    y = (face.box[1] + face.box[3]) / 2 / height
    column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
    row = "top " if y < 1 / 4 else "bottom " if y > 3 / 4 else ""
    return f"one at the {row}{column} ({round(face.box[2] - face.box[0])} px wide)"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_portrait(data: bytes) -> CheckedPortrait:
    """Decode and check an uploaded photo and frame it around its one face; UploadError says what is wrong."""
    image = decode_image(data)
    width, height = image.size
    if min(width, height) < MIN_SIDE:
        raise UploadError(
            422, f"the image is {width}×{height} pixels; a portrait needs at least {MIN_SIDE} pixels on each side"
        )
    try:
        faces = _find_faces(image)
    except LandmarksUnavailableError as exc:
        raise UploadError(503, f"face detection is not installed on this server: {exc}") from None
    if not faces:
        raise UploadError(
            422,
            "no face found in the photo: use a photo of one person facing the camera, "
            "with the whole face visible and evenly lit",
        )
    largest = faces[0]
    largest_width = largest.box[2] - largest.box[0]
    similar = [f for f in faces if f.box[2] - f.box[0] >= SIMILAR_FACE * largest_width]
    if len(similar) > 1:
        places = _listed([_where(f, width, height) for f in sorted(similar, key=lambda f: f.box[0])])
        raise UploadError(
            422,
            f"{len(similar)} faces found in the photo: {places}. "
            "An avatar needs exactly one: crop the photo to one person and upload it again",
        )
    if largest_width < MIN_FACE_PX:
        raise UploadError(
            422,
            f"the face is too small ({round(largest_width)} px wide; at least {MIN_FACE_PX} px needed): "
            "use a closer or larger photo",
        )
    framed = frame_portrait(image, largest)
    try:
        detect_face(np.asarray(framed))
    except NoFaceFoundError:
        raise UploadError(
            422,
            "a face was found but its features could not be traced (turned away, covered or blurred?): "
            "use a sharp photo of a face looking at the camera",
        ) from None
    return CheckedPortrait(framed, largest)


def frame_portrait(image: Image.Image, face: FaceBox) -> Image.Image:
    """A square crop around the face, framed like the shipped portraits, at most STORED_MAX_SIDE px."""
    width, height = image.size
    x0, y0, x1, y1 = face.box
    side = min((x1 - x0) / FACE_SHARE, width, height)
    left = float(np.clip((x0 + x1) / 2 - side / 2, 0, width - side))
    top = float(np.clip((y0 + y1) / 2 - FACE_CENTRE_Y * side, 0, height - side))
    out = min(round(side), STORED_MAX_SIDE)
    return image.resize((out, out), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))


class UploadStore:
    """The uploads directory: create, list and delete uploaded packs."""

    def __init__(
        self, uploads_dir: Path, avatars_dir: Path, cache_dir: Path | None = None, max_uploads: int = 50
    ) -> None:
        self.uploads_dir = uploads_dir
        self.avatars_dir = avatars_dir
        self.cache_dir = cache_dir
        self.max_uploads = max_uploads

    @property
    def dirs(self) -> tuple[Path, Path]:
        return self.avatars_dir, self.uploads_dir

    def is_uploaded(self, pack: AvatarPack) -> bool:
        return pack.directory.parent == self.uploads_dir

    def upload_ids(self) -> list[str]:
        if not self.uploads_dir.is_dir():
            return []
        return sorted(e.name for e in self.uploads_dir.iterdir() if UPLOAD_ID_PATTERN.fullmatch(e.name))

    def check_room(self) -> None:
        if self.max_uploads <= 0:
            raise UploadError(403, "this server does not take avatar uploads")
        if len(self.upload_ids()) >= self.max_uploads:
            raise UploadError(
                429, f"this server holds its limit of {self.max_uploads} uploaded avatars: delete one first"
            )

    def create(self, portrait: CheckedPortrait, display_name: str, progress: Progress | None = None) -> AvatarPack:
        """Store `portrait` as a new pack, prepared for the CPU engine (its preview drawn); returns it.

        Runs in a worker thread. Nothing stays behind if it fails.
        """
        report = progress or (lambda step, fraction: None)
        self.check_room()
        pack_id = self._new_id()
        staging = self.uploads_dir / f"{STAGING_PREFIX}{pack_id}"
        try:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            self.remove_stale_staging()
            staging.mkdir()
        except OSError as exc:
            logger.error("cannot store an uploaded avatar in %s: %s", self.uploads_dir, exc)
            raise UploadError(503, "the server cannot store avatars right now; try again later") from exc
        prepared_dir: Path | None = None
        digest: str | None = None
        try:
            portrait.image.save(staging / SOURCE_NAME, format="JPEG", quality=95)  # PNG: 0.3 s more at 1024 px
            manifest = PackManifest(
                id=pack_id,
                display_name=display_name,
                source=SOURCE_NAME,
                licence="Uploaded photo: its rights stay with whoever uploaded it",
                attribution=f"Uploaded to this server on {dt.datetime.now(dt.UTC):%Y-%m-%d}",
                default_voice=self._default_voices(),
            )
            (staging / "manifest.json").write_text(json.dumps(manifest.model_dump(exclude_none=True), indent=2) + "\n")
            pack = AvatarPack(manifest, staging)
            digest = pack.source_digest[:16]
            engine = load_engine(PREVIEW_ENGINE, EngineConfig())
            prepared = engine.prepare(pack, cache_root=self.cache_dir, progress=report)
            prepared_dir = prepared.cache_dir
            os.rename(staging, self.uploads_dir / pack_id)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if prepared_dir is not None and digest is not None and not self._digest_in_use(digest):
                self._remove_cache(prepared_dir)
            if isinstance(exc, AvatarPackError):
                raise UploadError(422, f"the photo could not be made into an avatar: {exc.reason}") from exc
            if isinstance(exc, OSError):
                logger.error("cannot store an uploaded avatar in %s: %s", self.uploads_dir, exc)
                raise UploadError(503, "the server cannot store avatars right now; try again later") from exc
            raise
        return load_pack(pack_id, self.uploads_dir)

    def delete(self, pack_id: str) -> None:
        """Remove an uploaded pack and its prepared caches (403 for a shipped pack, 404 for an unknown one)."""
        try:
            pack = load_pack(validate_pack_id(pack_id), self.dirs)
        except AvatarPackError:
            pack = None
        if pack is not None and not self.is_uploaded(pack):
            raise UploadError(403, f"{pack_id!r} ships with this server and cannot be deleted")
        directory = self.uploads_dir / pack_id
        if not UPLOAD_ID_PATTERN.fullmatch(pack_id) or not directory.is_dir() or directory.is_symlink():
            raise UploadError(404, f"no uploaded avatar {pack_id!r}")
        digest = pack.source_digest[:16] if pack is not None else None
        trash = self.uploads_dir / f"{STAGING_PREFIX}deleted-{pack_id}-{secrets.token_hex(4)}"
        os.rename(directory, trash)  # gone from listings at once; the files go next
        shutil.rmtree(trash, ignore_errors=True)
        if digest is not None and not self._digest_in_use(digest):
            for cache in self._caches_of(digest):
                self._remove_cache(cache)

    def preview_path(self, pack: AvatarPack) -> Path:
        """The CPU engine's preview of `pack` (prepared first if needed: call from a worker thread)."""
        engine = load_engine(PREVIEW_ENGINE, EngineConfig())
        return engine.prepare(pack, cache_root=self.cache_dir).cache_dir / PREVIEW_FILE

    def remove_stale_staging(self) -> None:
        """Staging directories left by a crash (a finished upload never leaves one)."""
        if not self.uploads_dir.is_dir():
            return
        cutoff = time.time() - STALE_STAGING_S
        for entry in self.uploads_dir.iterdir():
            if entry.name.startswith(STAGING_PREFIX) and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)

    def _new_id(self) -> str:
        while True:
            pack_id = f"u-{secrets.token_hex(6)}"
            if not any((d / pack_id).exists() for d in self.dirs):
                return pack_id

    def _default_voices(self) -> dict[str, dict[str, str]]:
        try:
            voices = load_pack("default", self.avatars_dir).manifest.default_voice
        except AvatarPackError:
            voices = {}
        return {lang: dict(v) for lang, v in (voices or FALLBACK_VOICES).items()}

    def _cache_root(self) -> Path:
        return self.cache_dir or default_cache_root()

    def _caches_of(self, digest16: str) -> list[Path]:
        root = self._cache_root()
        if not root.is_dir():
            return []
        return [e for e in root.iterdir() if e.is_dir() and f"-{digest16}-" in e.name]

    def _digest_in_use(self, digest16: str) -> bool:
        """Whether a pack still here has this portrait (packs of the same photo share their caches)."""
        return any(pack.source_digest[:16] == digest16 for pack in list_packs(self.dirs))

    @staticmethod
    def _remove_cache(cache: Path) -> None:
        shutil.rmtree(cache, ignore_errors=True)
        cache.with_name(cache.name + ".lock").unlink(missing_ok=True)


class UploadSlots:
    """At most `concurrent` uploads checked and prepared at once (CPU work in threads), `queued` more waiting.

    Beyond that an upload is told to come back (429) rather than piling up behind the others.
    """

    def __init__(self, concurrent: int = 1, queued: int = 4) -> None:
        self._semaphore = asyncio.Semaphore(concurrent)
        self._limit = concurrent + queued
        self._taken = 0

    async def acquire(self) -> None:
        if self._taken >= self._limit:
            raise UploadError(429, "the server is busy preparing other avatars: try again in a few seconds")
        self._taken += 1
        try:
            await self._semaphore.acquire()
        except BaseException:
            self._taken -= 1
            raise

    def release(self) -> None:
        self._taken -= 1
        self._semaphore.release()


async def read_upload(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int) -> bytes:
    """The request body, or a 413 as soon as it is known to exceed `limit` bytes (nothing is decoded before)."""

    def too_large(size: float) -> UploadError:
        return UploadError(
            413, f"the photo is {size / 1e6:.1f} MB; the limit is {limit / 1e6:g} MB: upload a smaller one"
        )

    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise too_large(int(declared_length))
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise too_large(len(body))
    return bytes(body)
