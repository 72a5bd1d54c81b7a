"""Batched MuseTalk v1.5 calls: whisper encoder over 30 s mel windows; UNet at t=0 + VAE decode + blend.

The same code runs in fp16 on CUDA and in fp32 on CPU; the rendered frame
stays on the models' device as an (H, W, 3) uint8 RGB tensor, which the NVENC
encoder consumes without a copy to host memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .audio_features import positional_encoding, stack_hidden_states
from .blend import Box, paste_face
from .config import VAE_SCALING_FACTOR, WINDOW_STEPS
from .loading import MuseTalkModels
from .prepare import AvatarMaterial


class FixedTimeEmbedding(nn.Module):
    """Stands in for the UNet's time embedding: MuseTalk always runs at timestep 0, so it is computed once."""

    embedding: torch.Tensor  # a buffer, registered in __init__

    def __init__(self, embedding: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("embedding", embedding, persistent=False)

    def forward(self, sample: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.embedding.expand(sample.shape[0], -1)


@dataclass(frozen=True)
class DeviceAvatar:
    """A prepared avatar resident on the models' device (read-only, shared by every session showing it)."""

    frames: torch.Tensor  # (N, H, W, 3) uint8
    latents: torch.Tensor  # (N, 8, 32, 32) masked + reference latents
    boxes: tuple[Box | None, ...]  # None: no face in that frame, shown unchanged
    masks: tuple[torch.Tensor | None, ...]  # (h, w, 1) per box, in [0, 1]
    cycle: tuple[int, ...]  # frame index for each position of the ping-pong cycle

    @classmethod
    def from_material(cls, material: AvatarMaterial, device: torch.device, dtype: torch.dtype) -> DeviceAvatar:
        boxes = material.face_boxes()
        masks = tuple(
            None
            if box is None
            else torch.from_numpy(
                material.masks[i, box[1] : box[3], box[0] : box[2], None].astype(np.float32) / 255
            ).to(device, dtype)
            for i, box in enumerate(boxes)
        )
        return cls(
            frames=torch.from_numpy(material.frames).to(device),
            latents=torch.from_numpy(material.latents).to(device, dtype),
            boxes=boxes,
            masks=masks,
            cycle=material.cycle(),
        )


@dataclass(frozen=True)
class RenderItem:
    avatar: DeviceAvatar
    frame: int  # index into avatar.frames
    audio: torch.Tensor  # (50, D) whisper tokens of this video frame


class MuseTalkRunner:
    """Owns the forward passes; thread-compatible, not thread-safe (the scheduler calls it from one thread)."""

    def __init__(self, models: MuseTalkModels) -> None:
        self.models = models
        self.device, self.dtype = models.device, models.dtype
        tokens = WINDOW_STEPS * self.num_hidden_states
        self._positions = positional_encoding(models.whisper.config.d_model, tokens).to(self.device, self.dtype)
        self._timestep = torch.zeros((), device=self.device)
        self._fix_timestep()

    @property
    def num_hidden_states(self) -> int:
        return self.models.whisper.config.encoder_layers + 1

    @torch.inference_mode()
    def encode_audio(self, mels: np.ndarray) -> torch.Tensor:
        """(N, 80, 3000) log-mel windows → (N, 1500, layers, D) stacked hidden states."""
        features = torch.from_numpy(mels).to(self.device, self.dtype)
        output = self.models.whisper(features, output_hidden_states=True)
        return stack_hidden_states(output.hidden_states)

    @torch.inference_mode()
    def faces(self, latents: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """One UNet step at t=0 and the VAE decode: (B, 8, 32, 32) + (B, 50, D) → (B, 3, 256, 256) in [0, 1]."""
        tokens = audio.to(self.dtype) + self._positions
        predicted = self.models.unet(latents, self._timestep, encoder_hidden_states=tokens).sample
        decoded: torch.Tensor = self.models.vae.decode(predicted / VAE_SCALING_FACTOR).sample
        return (decoded / 2 + 0.5).clamp(0, 1)

    @torch.inference_mode()
    def render(self, items: Sequence[RenderItem]) -> list[torch.Tensor]:
        """Full frames (H, W, 3) uint8 for a batch that may mix avatars; faceless frames skip the models."""
        results: list[torch.Tensor | None] = [
            item.avatar.frames[item.frame] if item.avatar.boxes[item.frame] is None else None for item in items
        ]
        todo = [i for i, result in enumerate(results) if result is None]
        if todo:
            latents = torch.stack([items[i].avatar.latents[items[i].frame] for i in todo])
            audio = torch.stack([items[i].audio for i in todo]).to(self.device)
            for face, i in zip(self.faces(latents, audio), todo, strict=True):
                avatar, frame = items[i].avatar, items[i].frame
                box, mask = avatar.boxes[frame], avatar.masks[frame]
                if box is None or mask is None:
                    raise RuntimeError(f"frame {frame} has no face box or mask, yet was sent to the models")
                results[i] = paste_face(avatar.frames[frame], face, box, mask)
        rendered = [result for result in results if result is not None]
        if len(rendered) != len(results):
            raise RuntimeError("a frame of the batch was left unrendered")
        return rendered

    def _fix_timestep(self) -> None:
        unet = self.models.unet
        if isinstance(unet.time_embedding, FixedTimeEmbedding):
            return
        with torch.inference_mode():
            sample = torch.zeros(1, device=self.device, dtype=self.dtype)
            embedding = unet.time_embedding(unet.get_time_embed(sample=sample, timestep=self._timestep))
        # diffusers types the attribute as its TimestepEmbedding; the UNet only calls it as a module.
        unet.time_embedding = FixedTimeEmbedding(embedding.clone())  # type: ignore[assignment]
