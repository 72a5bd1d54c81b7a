"""The BiSeNet face parser behind MuseTalk's blend masks: the released checkpoint's layout, strict loading and
its errors, the 'jaw' region drawn from a class map, prepared masks from a (random-weight) parser, and the
cache key telling parsed masks from face-mesh masks."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from livekit.plugins.musetalk import EngineUnavailableError
from livekit.plugins.musetalk.engines.musetalk.blend_mask import crop_box, jaw_region
from livekit.plugins.musetalk.engines.musetalk.config import FACE_PARSER_WEIGHTS, PARSE_SIZE
from livekit.plugins.musetalk.engines.musetalk.face_parsing import BiSeNet, parse_face
from livekit.plugins.musetalk.engines.musetalk.loading import MuseTalkModels, load_face_parser, load_models
from livekit.plugins.musetalk.engines.musetalk.prepare import prepare_material
from livekit.plugins.musetalk.landmarks import detect_face
from support.paths import REPO
from support.tiny_musetalk import build_tiny_musetalk

RELEASED_PARAMETERS = 13_300_416
RELEASED_SHAPES = {  # a sample across every part of 79999_iter.pth
    "cp.resnet.conv1.weight": (64, 3, 7, 7),
    "cp.resnet.layer1.1.bn2.running_var": (64,),
    "cp.resnet.layer2.0.downsample.0.weight": (128, 64, 1, 1),
    "cp.resnet.layer4.1.conv2.weight": (512, 512, 3, 3),
    "cp.arm16.conv.conv.weight": (128, 256, 3, 3),
    "cp.arm32.conv_atten.weight": (128, 128, 1, 1),
    "cp.arm32.bn_atten.running_mean": (128,),
    "cp.conv_head32.bn.weight": (128,),
    "cp.conv_avg.conv.weight": (128, 512, 1, 1),
    "ffm.convblk.conv.weight": (256, 256, 1, 1),
    "ffm.conv1.weight": (64, 256, 1, 1),
    "ffm.conv2.weight": (256, 64, 1, 1),
    "conv_out.conv.conv.weight": (256, 256, 3, 3),
    "conv_out.conv_out.weight": (19, 256, 1, 1),
    "conv_out16.conv_out.weight": (19, 64, 1, 1),
    "conv_out32.conv.bn.num_batches_tracked": (),
}


@pytest.fixture(scope="module")
def parser_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_musetalk(tmp_path_factory.mktemp("musetalk"), face_parser=True)


@pytest.fixture(scope="module")
def models(parser_dir: Path) -> MuseTalkModels:
    return load_models(parser_dir, device="cpu")


@pytest.fixture(scope="module")
def portrait() -> tuple[np.ndarray, np.ndarray]:
    """The eileen pack's portrait: what the random-weight parser's regions (and so the sizes below) were measured on."""
    image = np.asarray(Image.open(REPO / "avatars" / "eileen" / "portrait.png").convert("RGB"))
    return image, detect_face(image).points


def _without_parser(parser_dir: Path, tmp_path: Path) -> Path:
    models_dir = Path(shutil.copytree(parser_dir, tmp_path / "models"))
    (models_dir / FACE_PARSER_WEIGHTS).unlink()
    return models_dir


def test_the_parser_has_the_released_layout() -> None:
    with torch.device("meta"):
        net = BiSeNet().eval()
        logits = net(torch.zeros(1, 3, PARSE_SIZE, PARSE_SIZE))
    state = net.state_dict()
    assert {name: tuple(state[name].shape) for name in RELEASED_SHAPES} == RELEASED_SHAPES
    assert len(state) == 191 and not any(name.startswith(("sp.", "cp.resnet.fc")) for name in state)
    assert sum(p.numel() for p in net.parameters()) == RELEASED_PARAMETERS
    assert logits.shape == (1, 19, PARSE_SIZE, PARSE_SIZE)


def test_the_parser_loads_strictly_through_the_loader(parser_dir: Path, tmp_path: Path) -> None:
    parser = load_face_parser(parser_dir, "cpu")
    assert parser is not None and not parser.training
    saved = torch.load(parser_dir / FACE_PARSER_WEIGHTS, weights_only=True)
    loaded = parser.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[name], saved[name]) and loaded[name].dtype == saved[name].dtype for name in saved)
    assert load_face_parser(_without_parser(parser_dir, tmp_path), "cpu") is None


@pytest.mark.parametrize("damage", ["truncated", "missing_head", "backbone_only", "pickled_code"])
def test_a_wrong_parser_file_is_refused(parser_dir: Path, tmp_path: Path, damage: str) -> None:
    models_dir = _without_parser(parser_dir, tmp_path)
    path = models_dir / FACE_PARSER_WEIGHTS
    state = torch.load(parser_dir / FACE_PARSER_WEIGHTS, weights_only=True)
    if damage == "truncated":
        path.write_bytes((parser_dir / FACE_PARSER_WEIGHTS).read_bytes()[:1000])
    elif damage == "missing_head":
        torch.save({k: v for k, v in state.items() if not k.startswith("conv_out32.")}, path)
    elif damage == "backbone_only":  # e.g. resnet18-5c106cde.pth saved under the parser's name
        torch.save({k.removeprefix("cp.resnet."): v for k, v in state.items() if k.startswith("cp.resnet.")}, path)
    else:
        torch.save({**state, "payload": Path("/")}, path)  # not loadable weights_only
    with pytest.raises(EngineUnavailableError, match="79999_iter.pth is not the BiSeNet face-parsing") as info:
        load_face_parser(models_dir, "cpu")
    assert "face mesh" in str(info.value)


def test_the_jaw_region_of_a_class_map() -> None:
    classes = np.zeros((PARSE_SIZE, PARSE_SIZE), np.uint8)
    cv2.ellipse(classes, (256, 256), (150, 200), 0, 0, 360, 1, -1)  # skin: x 106..406, y 56..456
    cv2.ellipse(classes, (256, 230), (20, 40), 0, 0, 360, 10, -1)  # nose
    classes[330:345, 216:297], classes[345:360, 216:297] = 12, 13  # lips
    classes[485:495, 246:267] = 11  # mouth, far below the skin
    region = jaw_region(classes)
    assert set(np.unique(region)) == {0, 255}
    assert region[230, 256] == 0 and region[200, 256] == 0  # the nose is cut out ...
    assert region[230, 200] == 255  # ... its surroundings are not
    assert region[330:360, 216:297].min() == 255 and region[485:495, 246:267].min() == 255  # lips and mouth
    assert region[46, 256] == 255  # skin grows upwards in the central band ...
    assert region[256, :116].max() == 0 and region[256, 396:].max() == 0  # ... and is held back at the cheeks
    assert region[470, 256] == 0 and not region[:, :60].any()  # nothing else


def test_prepared_masks_come_from_the_parser(
    models: MuseTalkModels, parser_dir: Path, portrait: tuple[np.ndarray, np.ndarray]
) -> None:
    image, mesh = portrait
    parser = load_face_parser(parser_dir, "cpu")
    parsed = prepare_material([image], [mesh], models.vae, parser)
    from_mesh = prepare_material([image], [mesh], models.vae)
    assert np.array_equal(parsed.boxes, from_mesh.boxes) and np.array_equal(parsed.latents, from_mesh.latents)
    mask = parsed.masks[0]
    assert np.abs(mask.astype(int) - from_mesh.masks[0]).sum() > 255 * 1000  # not the face-mesh mask
    x1, y1, x2, y2 = parsed.face_boxes()[0]
    cx1, cy1, cx2, _ = crop_box((x1, y1, x2, y2))
    inside = np.zeros_like(mask, bool)
    inside[y1:y2, x1:x2] = True
    assert not mask[~inside].any()  # kept inside the face box (itself inside the crop box) ...
    boundary, blur_radius = cy1 + (cx2 - cx1) // 2, int(0.1 * (cx2 - cx1) // 2)
    assert not mask[: boundary - blur_radius].any()  # ... and below the crop box's upper half, but for the blur
    assert mask[:boundary].max() < 255
    assert mask.max() == 255 and (mask == 255).sum() > 1000  # a fully replaced core ...
    assert ((mask > 0) & (mask < 255)).sum() > 500  # ... with blurred edges
    # where the parsed crop's region is solid past the blur's reach (and the box's edges), the mask is 255
    cy2 = cy1 + (cx2 - cx1)
    region = cv2.resize(
        jaw_region(parse_face(parser, image[cy1:cy2, cx1:cx2])), (cx2 - cx1, cx2 - cx1), interpolation=cv2.INTER_NEAREST
    )
    reach = np.ones((2 * blur_radius + 1,) * 2, np.uint8)
    solid = cv2.erode(region, reach) == 255
    core = np.zeros_like(mask, bool)
    core[boundary + blur_radius : y2 - blur_radius, x1 + blur_radius : x2 - blur_radius] = True
    core = core[cy1:cy2, cx1:cx2]
    assert (solid & core).sum() > 1000 and (mask[cy1:cy2, cx1:cx2][solid & core] == 255).all()


def test_the_cache_key_tells_parsed_masks_apart(models: MuseTalkModels, parser_dir: Path, tmp_path: Path) -> None:
    digest = hashlib.sha256((parser_dir / FACE_PARSER_WEIGHTS).read_bytes()).hexdigest()
    assert models.face_parser_digest == digest
    without = load_models(_without_parser(parser_dir, tmp_path), device="cpu")
    assert without.face_parser_digest is None and without.vae_digest == models.vae_digest
    assert without.material_key == models.vae_digest[:12]
    assert models.material_key.startswith(models.vae_digest[:12]) and models.material_key != without.material_key
