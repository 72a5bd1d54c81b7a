"""BiSeNet face parsing (19 CelebAMask-HQ classes), the parser MuseTalk builds its blend masks from.

Module and parameter names follow the released face-parsing checkpoint
(face-parse-bisent/79999_iter.pth) so its state dict loads strictly. That
model has no separate spatial path: the backbone's 1/8-scale features take
its place in the feature fusion. The checkpoint holds the ResNet-18 backbone
too, so no ImageNet weights are read. Only the main head runs; the two
auxiliary heads (training-time deep supervision) are kept for the checkpoint's
keys.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import PARSE_CLASSES, PARSE_MEAN, PARSE_SIZE, PARSE_STD


def _global_average(x: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(x, 1)


class ConvBnRelu(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(shortcut + residual)


class ResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._stage(64, 64, stride=1)
        self.layer2 = self._stage(64, 128, stride=2)
        self.layer3 = self._stage(128, 256, stride=2)
        self.layer4 = self._stage(256, 512, stride=2)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(in_channels, out_channels, stride), BasicBlock(out_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features at 1/8, 1/16 and 1/32 of the input size."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        feat8 = self.layer2(self.layer1(x))
        feat16 = self.layer3(feat8)
        return feat8, feat16, self.layer4(feat16)


class AttentionRefinement(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = ConvBnRelu(in_channels, out_channels)
        self.conv_atten = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat: torch.Tensor = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(_global_average(feat))))


class ContextPath(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.resnet = ResNet18()
        self.arm16 = AttentionRefinement(256, 128)
        self.arm32 = AttentionRefinement(512, 128)
        self.conv_head32 = ConvBnRelu(128, 128)
        self.conv_head16 = ConvBnRelu(128, 128)
        self.conv_avg = ConvBnRelu(512, 128, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The backbone's 1/8 features and the refined context, upsampled to 1/8."""
        feat8, feat16, feat32 = self.resnet(x)
        context32 = self.arm32(feat32) + self.conv_avg(_global_average(feat32))
        up32 = self.conv_head32(F.interpolate(context32, feat16.shape[2:], mode="nearest"))
        context16 = self.arm16(feat16) + up32
        return feat8, self.conv_head16(F.interpolate(context16, feat8.shape[2:], mode="nearest"))


class FeatureFusion(nn.Module):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.convblk = ConvBnRelu(in_channels, out_channels, kernel_size=1)
        self.conv1 = nn.Conv2d(out_channels, out_channels // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(out_channels // 4, out_channels, 1, bias=False)

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        feat: torch.Tensor = self.convblk(torch.cat([spatial, context], dim=1))
        attention = torch.sigmoid(self.conv2(F.relu(self.conv1(_global_average(feat)))))
        return feat * (1 + attention)


class OutputHead(nn.Module):
    def __init__(self, in_channels: int, mid_channels: int, classes: int) -> None:
        super().__init__()
        self.conv = ConvBnRelu(in_channels, mid_channels)
        self.conv_out = nn.Conv2d(mid_channels, classes, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.conv_out(self.conv(x))
        return logits


class BiSeNet(nn.Module):
    def __init__(self, classes: int = PARSE_CLASSES) -> None:
        super().__init__()
        self.cp = ContextPath()
        self.ffm = FeatureFusion(256, 256)
        self.conv_out = OutputHead(256, 256, classes)
        self.conv_out16 = OutputHead(128, 64, classes)
        self.conv_out32 = OutputHead(128, 64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalised RGB → (B, classes, H, W) logits."""
        feat8, context8 = self.cp(x)
        logits = self.conv_out(self.ffm(feat8, context8))
        return F.interpolate(logits, x.shape[2:], mode="bilinear", align_corners=True)


@torch.inference_mode()
def parse_face(net: BiSeNet, image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (PARSE_SIZE, PARSE_SIZE) uint8 class map of the image resized to the parser's size."""
    parameter = next(net.parameters())
    resized = cv2.resize(image, (PARSE_SIZE, PARSE_SIZE), interpolation=cv2.INTER_LINEAR)
    pixels = torch.from_numpy(resized).to(parameter.device).permute(2, 0, 1)[None].to(parameter.dtype) / 255
    mean = torch.tensor(PARSE_MEAN, device=parameter.device, dtype=parameter.dtype)[:, None, None]
    std = torch.tensor(PARSE_STD, device=parameter.device, dtype=parameter.dtype)[:, None, None]
    logits: torch.Tensor = net((pixels - mean) / std)
    return logits[0].argmax(0).to(torch.uint8).cpu().numpy()
