"""Fetch MuseTalk v1.5's runtime weights from the Hugging Face Hub into the models dir.

Files already present are skipped; an interrupted download resumes (the hub
client keeps the partial file under the models dir's `.cache/`). Progress
bars are the hub client's. The VAE and whisper come as safetensors; a models
dir made by MuseTalk's own script (with .bin files) is accepted as well.

The optional BiSeNet face parser is not fetched: MuseTalk's script takes it
from a Google Drive link, not from a Hugging Face repository. Without it,
blend masks are derived from the face mesh.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from ...errors import EngineUnavailableError
from ...log import logger
from .config import FACE_PARSER_WEIGHTS, MODELS_DIR_ENV, default_models_dir, missing_files

# (repo id, file in the repo, directory of the models dir it goes to)
HUB_FILES: tuple[tuple[str, str, str], ...] = (
    ("TMElyralab/MuseTalk", "musetalkV15/unet.pth", ""),
    ("TMElyralab/MuseTalk", "musetalkV15/musetalk.json", ""),
    ("stabilityai/sd-vae-ft-mse", "config.json", "sd-vae"),
    ("stabilityai/sd-vae-ft-mse", "diffusion_pytorch_model.safetensors", "sd-vae"),
    ("openai/whisper-tiny", "config.json", "whisper"),
    ("openai/whisper-tiny", "model.safetensors", "whisper"),
    ("openai/whisper-tiny", "preprocessor_config.json", "whisper"),
)


def download_models(models_dir: Path | None = None, *, endpoint: str | None = None) -> Path:
    """Download whatever the models dir lacks and return it.

    `endpoint` overrides the hub address (e.g. a mirror). Raises EngineUnavailableError when the hub
    cannot be reached, saying which file failed and how to install the weights by hand.
    """
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    if not (models_dir / FACE_PARSER_WEIGHTS).is_file():
        logger.info(
            "no %s in %s (optional, not downloaded): blend masks come from the face mesh",
            FACE_PARSER_WEIGHTS,
            models_dir,
        )
    if not missing_files(models_dir):
        logger.info("MuseTalk weights already in %s", models_dir)
        return models_dir
    for repo_id, filename, subdir in HUB_FILES:
        target = models_dir / subdir / filename
        if target.is_file():
            continue
        logger.info("downloading %s/%s to %s", repo_id, filename, target)
        try:
            hf_hub_download(repo_id, filename, local_dir=models_dir / subdir, endpoint=endpoint)
        except (HfHubHTTPError, OSError) as exc:  # no connection surfaces as LocalEntryNotFoundError, an OSError
            raise EngineUnavailableError(
                f"cannot download {repo_id}/{filename} ({type(exc).__name__}: {str(exc).strip()[:200]}); "
                f"this machine may be offline. Run download-files again when online (it resumes), or copy "
                f"a MuseTalk models dir (musetalkV15/, sd-vae/, whisper/) to {models_dir} or point "
                f"{MODELS_DIR_ENV} at one"
            ) from exc
    return models_dir
