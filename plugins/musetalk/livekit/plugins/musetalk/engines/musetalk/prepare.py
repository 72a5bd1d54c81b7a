"""Avatar material for MuseTalk: per source frame the face box, the masked + reference VAE latents and the blend mask.

Every array has one entry per source frame, faces or not: a frame without a
face gets box (-1, -1, -1, -1), zero latents and an empty mask and is shown
unchanged, so indices never shift. Playback walks the frames forward then
backward (ping-pong), so a looping video has no jump.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

# From its defining module: type checkers resolve diffusers' lazy top-level names to placeholder classes.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

from ...caches import CorruptCacheError, read_npz
from .blend import Box
from .blend_mask import jaw_mask, parsed_jaw_mask
from .config import CROP_SIZE, LATENT_CHANNELS, LATENT_SIZE, VAE_SCALING_FACTOR
from .face_box import face_box
from .face_parsing import BiSeNet

MATERIAL_FILE = "material.npz"
NO_FACE = (-1, -1, -1, -1)
LATENT_BATCH = 8


@dataclass(frozen=True)
class AvatarMaterial:
    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    boxes: np.ndarray  # (N, 4) int32 x1, y1, x2, y2; NO_FACE where no face was found
    latents: np.ndarray  # (N, 8, 32, 32) float32: masked crop's latent, then the full crop's
    masks: np.ndarray  # (N, H, W) uint8 blend masks, zero outside the box

    def face_boxes(self) -> tuple[Box | None, ...]:
        return tuple(
            None if tuple(box) == NO_FACE else (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
            for box in self.boxes
        )

    def cycle(self) -> tuple[int, ...]:
        return ping_pong(len(self.frames))

    def save(self, directory: Path) -> None:
        np.savez(
            directory / MATERIAL_FILE, frames=self.frames, boxes=self.boxes, latents=self.latents, masks=self.masks
        )

    @classmethod
    def load(cls, directory: Path) -> AvatarMaterial:
        arrays = read_npz(directory / MATERIAL_FILE)
        try:
            material = cls(**{name: arrays[name] for name in ("frames", "boxes", "latents", "masks")})
        except KeyError as exc:
            raise CorruptCacheError(f"{MATERIAL_FILE}: no array {exc}") from exc
        count = len(material.frames)
        if not (count and len(material.boxes) == len(material.latents) == len(material.masks) == count):
            raise CorruptCacheError(f"{MATERIAL_FILE}: arrays of different lengths")
        return material


def write_preview(material: AvatarMaterial, path: Path) -> None:
    """The first frame with its blend region tinted green and its face box outlined: what MuseTalk will redraw."""
    frame = material.frames[0].copy()
    alpha = material.masks[0, ..., None].astype(np.float32) / 255 * 0.5
    frame = (frame * (1 - alpha) + np.array([0, 255, 0], np.float32) * alpha).astype(np.uint8)
    box = material.face_boxes()[0]
    if box is not None:
        cv2.rectangle(frame, box[:2], box[2:], (255, 255, 0), 1)
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def ping_pong(count: int) -> tuple[int, ...]:
    return (*range(count), *reversed(range(count)))


def crop_face(frame: np.ndarray, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    return cv2.resize(frame[y1:y2, x1:x2], (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LANCZOS4)


@torch.inference_mode()
def encode_latents(vae: AutoencoderKL, crops: np.ndarray) -> np.ndarray:
    """(N, 256, 256, 3) uint8 crops → (N, 8, 32, 32): the latent of the crop with its lower half blanked, then
    of the whole crop. The mean of the latent distribution (MuseTalk samples it; the mean is deterministic)."""
    parameter = next(vae.parameters())
    latents = []
    for start in range(0, len(crops), LATENT_BATCH):
        images = torch.from_numpy(crops[start : start + LATENT_BATCH]).to(parameter.device)
        images = images.permute(0, 3, 1, 2).to(parameter.dtype) / 127.5 - 1.0
        masked = images.clone()
        masked[:, :, CROP_SIZE // 2 :] = -1.0
        means = vae.encode(torch.cat([masked, images])).latent_dist.mean * VAE_SCALING_FACTOR
        latents.append(torch.cat(means.chunk(2), dim=1).float().cpu().numpy())
    return np.concatenate(latents)


def prepare_material(
    frames: Sequence[np.ndarray],
    meshes: Sequence[np.ndarray | None],
    vae: AutoencoderKL,
    face_parser: BiSeNet | None = None,
) -> AvatarMaterial:
    """Material for RGB frames of equal size and their (468, 2) face meshes (None: no face in that frame).

    Blend masks come from `face_parser` when given, else from the meshes; the cache key must tell them apart.
    """
    if not frames or len(frames) != len(meshes):
        raise ValueError(f"need one mesh (or None) per frame, got {len(frames)} frames and {len(meshes)} meshes")
    height, width = frames[0].shape[:2]
    boxes = [None if mesh is None else face_box(mesh, width, height) for mesh in meshes]
    masks = np.zeros((len(frames), height, width), np.uint8)
    latents = np.zeros((len(frames), 2 * LATENT_CHANNELS, LATENT_SIZE, LATENT_SIZE), np.float32)
    # A frame has a box only if it has a mesh; the mesh test narrows the types.
    faces = [
        (i, mesh, box)
        for i, (mesh, box) in enumerate(zip(meshes, boxes, strict=True))
        if mesh is not None and box is not None
    ]
    with_face = [i for i, _, _ in faces]
    for i, mesh, box in faces:
        if face_parser is None:
            masks[i] = jaw_mask(mesh, box, width, height)
        else:
            masks[i] = parsed_jaw_mask(frames[i], box, face_parser)
    if with_face:
        crops = np.stack([crop_face(frames[i], box) for i, _, box in faces])
        latents[with_face] = encode_latents(vae, crops)
    return AvatarMaterial(
        frames=np.stack(frames),
        boxes=np.array([NO_FACE if box is None else box for box in boxes], np.int32),
        latents=latents,
        masks=masks,
    )
