"""Avatar packs: `avatars/<id>/manifest.json` plus a portrait; what an operator ships.

What an engine derives from a pack (face geometry, masks, layers) is a prepared
cache: see `caches.py`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import AvatarPackError
from .landmarks import FaceLandmarks, NoFaceFoundError, detect_face, pin_key_points
from .log import logger
from .types import MAX_VIDEO_FPS, MAX_VIDEO_SIZE, MIN_VIDEO_SIZE, VideoSpec

AVATARS_DIR_ENV = "MUSETALK_AVATARS_DIR"
MANIFEST_NAME = "manifest.json"
PACK_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class FaceGeometryOverride(BaseModel):
    """Hand-placed face geometry, in pixels of the source image, for portraits the detector misreads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    box: tuple[float, float, float, float] | None = Field(default=None, description="x0, y0, x1, y1 of the face")
    key_points: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="at least 3 of left_eye, right_eye, mouth_left, mouth_right, upper_lip, lower_lip, chin",
    )


class PackManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PACK_ID_PATTERN.pattern)
    display_name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="portrait file, relative to the pack directory")
    licence: str = Field(min_length=1)
    attribution: str = Field(min_length=1)
    source_url: str | None = None
    default_voice: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="language -> TTS provider -> voice id"
    )
    fps: int = Field(default=25, ge=1, le=MAX_VIDEO_FPS)
    width: int = Field(default=512, ge=MIN_VIDEO_SIZE, le=MAX_VIDEO_SIZE, multiple_of=2)
    height: int = Field(default=512, ge=MIN_VIDEO_SIZE, le=MAX_VIDEO_SIZE, multiple_of=2)
    face: FaceGeometryOverride | None = None
    rest_expression: Literal["neutral", "keeps-smile"] = Field(
        default="neutral",
        description="the face at rest: neutral, or the portrait's smile (engines close the lips but keep the smile)",
    )


@dataclass(frozen=True)
class AvatarPack:
    manifest: PackManifest
    directory: Path

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def source_path(self) -> Path:
        return self.directory / self.manifest.source

    @property
    def video_spec(self) -> VideoSpec:
        return VideoSpec(width=self.manifest.width, height=self.manifest.height, fps=self.manifest.fps)

    @cached_property
    def source_digest(self) -> str:
        """sha256 of the portrait bytes and of any manual face geometry (both change what is prepared)."""
        digest = hashlib.sha256(self._read_source_bytes())
        if self.manifest.face is not None:
            digest.update(self.manifest.face.model_dump_json().encode())
        return digest.hexdigest()

    def load_image(self) -> np.ndarray:
        """The portrait as RGB uint8 (H, W, 3)."""
        try:
            with Image.open(self.source_path) as image:
                return np.asarray(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as exc:
            raise AvatarPackError(self.id, f"cannot read the portrait {self.source_path}: {exc}") from exc

    def locate_face(self, rgb: np.ndarray) -> FaceLandmarks:
        """Face box and mesh of the portrait, honouring the manifest's manual face geometry."""
        override = self.manifest.face or FaceGeometryOverride()
        try:
            landmarks = detect_face(rgb, box=override.box)
            if override.key_points:
                landmarks = pin_key_points(landmarks, override.key_points)
        except NoFaceFoundError as exc:
            raise AvatarPackError(
                self.id,
                f"no face found in {self.source_path.name} ({exc}); use a frontal portrait "
                f'or set "face": {{"box": [x0, y0, x1, y1]}} in {MANIFEST_NAME}',
            ) from exc
        except ValueError as exc:
            raise AvatarPackError(self.id, f'invalid "face" geometry in {MANIFEST_NAME}: {exc}') from exc
        return landmarks

    def _read_source_bytes(self) -> bytes:
        try:
            return self.source_path.read_bytes()
        except OSError as exc:
            raise AvatarPackError(self.id, f"cannot read the portrait {self.source_path}: {exc}") from exc


def default_avatars_dir() -> Path:
    """`$MUSETALK_AVATARS_DIR`, else the nearest `avatars/` in the working directory or its parents."""
    configured = os.environ.get(AVATARS_DIR_ENV)
    if configured:
        return Path(configured)
    cwd = Path.cwd()
    for directory in (cwd, *cwd.parents):
        if (directory / "avatars").is_dir():
            return directory / "avatars"
    return cwd / "avatars"


def validate_pack_id(pack_id: str) -> str:
    if not PACK_ID_PATTERN.fullmatch(pack_id):
        raise AvatarPackError(
            pack_id, f"invalid pack id: use 1-64 characters of a-z, 0-9, '_' or '-' ({PACK_ID_PATTERN.pattern})"
        )
    return pack_id


AvatarDirs = Path | Sequence[Path]
"""One directory of packs, or several searched in order: the first that has a pack wins."""


def search_path(avatars_dir: AvatarDirs | None = None) -> list[Path]:
    """The directories `avatars_dir` names, in search order (None: `default_avatars_dir()`)."""
    if avatars_dir is None:
        return [default_avatars_dir()]
    if isinstance(avatars_dir, (str, os.PathLike)):
        return [Path(avatars_dir)]
    return [Path(directory) for directory in avatars_dir]


def load_pack(pack_id: str, avatars_dir: AvatarDirs | None = None) -> AvatarPack:
    """The pack `pack_id` from `avatars_dir`, or from the first of several directories that has it.

    Searching the operator's packs before any other directory (uploads, say) means no pack added
    there can shadow one that ships.
    """
    dirs = search_path(avatars_dir)
    validate_pack_id(pack_id)
    directory = next((d / pack_id for d in dirs if (d / pack_id).is_dir()), None)
    if directory is None:
        known = ", ".join(list_pack_ids(dirs)) or "none"
        where = " or ".join(str(d) for d in dirs)
        raise AvatarPackError(pack_id, f"unknown pack: no directory {pack_id} in {where} (packs: {known})")
    manifest_path = directory / MANIFEST_NAME
    try:
        manifest = PackManifest.model_validate_json(manifest_path.read_bytes())
    except FileNotFoundError as exc:
        raise AvatarPackError(pack_id, f"missing {manifest_path}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise AvatarPackError(pack_id, f"invalid {manifest_path}: {problems}") from exc
    except OSError as exc:
        raise AvatarPackError(pack_id, f"cannot read {manifest_path}: {exc}") from exc
    if manifest.id != pack_id:
        raise AvatarPackError(pack_id, f'{manifest_path} says "id": {manifest.id!r}; it must match the directory name')
    pack = AvatarPack(manifest=manifest, directory=directory)
    if not pack.source_path.resolve().is_relative_to(directory.resolve()):
        raise AvatarPackError(pack_id, f'"source" must be a file inside {directory}, got {manifest.source!r}')
    return pack


def list_pack_ids(avatars_dir: AvatarDirs) -> list[str]:
    """Ids of the packs in `avatars_dir`: each directory's sorted, in search order, each id once."""
    ids: dict[str, None] = {}
    for directory in search_path(avatars_dir):
        if not directory.is_dir():
            continue
        for name in sorted(
            entry.name
            for entry in directory.iterdir()
            if PACK_ID_PATTERN.fullmatch(entry.name) and (entry / MANIFEST_NAME).is_file()
        ):
            ids.setdefault(name, None)
    return list(ids)


def list_packs(avatars_dir: AvatarDirs | None = None) -> list[AvatarPack]:
    """Every valid pack in `avatars_dir` (invalid ones are logged and skipped)."""
    dirs = search_path(avatars_dir)
    packs = []
    for pack_id in list_pack_ids(dirs):
        try:
            packs.append(load_pack(pack_id, dirs))
        except AvatarPackError as exc:
            logger.warning("skipping avatar pack: %s", exc)
    return packs
