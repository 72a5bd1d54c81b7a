"""Avatar packs: loading, every way a pack can be broken, and the prepared cache (reuse, repair, concurrency)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from livekit.plugins.musetalk import AvatarOptions, AvatarPackError
from livekit.plugins.musetalk.caches import CACHE_DIR_ENV, CorruptCacheError, cache_path, prepare_cached
from livekit.plugins.musetalk.engines.cpu import CpuEngine
from livekit.plugins.musetalk.packs import AVATARS_DIR_ENV, default_avatars_dir, list_pack_ids, list_packs, load_pack
from support.paths import REPO


@pytest.fixture
def avatars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the shipped packs and an empty cache."""
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    directory = tmp_path / "avatars"
    shutil.copytree(REPO / "avatars" / "default", directory / "default")
    return directory


def make_pack(avatars: Path, pack_id: str, **manifest_changes: object) -> Path:
    """A copy of the default pack under another id, with manifest fields changed."""
    directory = avatars / pack_id
    shutil.copytree(avatars / "default", directory)
    manifest = json.loads((directory / "manifest.json").read_text()) | {"id": pack_id} | manifest_changes
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def test_default_pack_loads_and_prepares(avatars: Path) -> None:
    pack = load_pack("default", avatars)
    assert pack.manifest.fps == 25 and (pack.manifest.width, pack.manifest.height) == (512, 512)
    assert "public domain" in pack.manifest.licence.lower()
    assert pack.manifest.default_voice["ko"]["google"].startswith("ko-KR")
    engine = CpuEngine()
    prepared = engine.prepare(pack)
    assert engine.rigs_built == 1 and not prepared.from_cache
    assert prepared.material.base.shape == (512, 512, 3)
    assert prepared.preview_path.is_file()
    assert prepared.cache_dir.name.startswith(f"cpu-{engine.cache_version}-{pack.source_digest[:16]}-512x512")


def test_the_shipped_packs_include_a_neutral_default() -> None:
    """At least two packs ship; the default portrait's lips are closed (a neutral mouth animates best)."""
    packs = {pack.id: pack for pack in list_packs(REPO / "avatars")}
    assert "default" in packs and len(packs) >= 2, sorted(packs)
    for pack in packs.values():
        assert pack.source_path.stat().st_size < 600_000, f"{pack.id}: keep the portrait small"
    default = packs["default"]
    points = default.locate_face(default.load_image()).points
    face_width = np.linalg.norm(points[234] - points[454])
    lip_gap = np.linalg.norm(points[13] - points[14])  # inner lips, upper and lower centre
    assert face_width > 150 and lip_gap < 0.03 * face_width, (face_width, lip_gap)


def test_second_prepare_reuses_the_cache(avatars: Path) -> None:
    CpuEngine().prepare(load_pack("default", avatars))
    engine = CpuEngine()
    prepared = engine.prepare(load_pack("default", avatars))
    assert prepared.from_cache and engine.rigs_built == 0


def test_concurrent_prepares_build_once_and_share_the_result(avatars: Path) -> None:
    engine = CpuEngine()
    pack = load_pack("default", avatars)
    start = threading.Barrier(3)
    results, errors = [], []

    def prepare() -> None:
        start.wait()
        try:
            results.append(engine.prepare(pack))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=prepare) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert engine.rigs_built == 1
    assert sorted(r.from_cache for r in results) == [False, True, True]
    assert len({r.cache_dir for r in results}) == 1
    assert all(np.array_equal(r.material.base, results[0].material.base) for r in results)


def test_corrupt_cache_is_prepared_again(avatars: Path) -> None:
    engine = CpuEngine()
    first = engine.prepare(load_pack("default", avatars))
    rig_file = first.cache_dir / "rig.npz"
    rig_file.write_bytes(rig_file.read_bytes()[:1000])
    again = engine.prepare(load_pack("default", avatars))
    assert engine.rigs_built == 2 and not again.from_cache
    assert np.array_equal(again.material.base, first.material.base)


def test_cache_still_unreadable_after_rebuilding_is_an_error(avatars: Path) -> None:
    def unreadable(directory: Path) -> None:
        raise CorruptCacheError("rig.npz: truncated")

    pack = load_pack("default", avatars)
    with pytest.raises(AvatarPackError, match="'default'.*cannot be read back.*truncated"):
        prepare_cached(pack, cache_path(pack, "test", "1", pack.video_spec), build=lambda d: None, load=unreadable)


def test_unknown_pack(avatars: Path) -> None:
    with pytest.raises(AvatarPackError, match="'nobody': unknown pack.*default"):
        load_pack("nobody", avatars)


def test_several_directories_are_searched_in_order_and_the_first_wins(avatars: Path, tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    make_pack(avatars, "extra")
    shutil.move(avatars / "extra", uploads / "extra")
    shutil.copytree(avatars / "default", uploads / "default")  # must not shadow the shipped pack
    assert load_pack("extra", [avatars, uploads]).directory == uploads / "extra"
    assert load_pack("default", [avatars, uploads]).directory == avatars / "default"
    assert [p.directory for p in list_packs([avatars, uploads])] == [avatars / "default", uploads / "extra"]
    assert list_pack_ids([avatars, tmp_path / "missing", uploads]) == ["default", "extra"]
    with pytest.raises(AvatarPackError, match=f"'nobody': unknown pack.*{avatars}.*{uploads}.*default, extra"):
        load_pack("nobody", [avatars, uploads])
    with pytest.raises(AvatarPackError, match="invalid pack id"):
        load_pack("../uploads/extra", [avatars, uploads])


def test_avatar_options_look_in_their_extra_directories_after_the_packs(tmp_path: Path) -> None:
    options = AvatarOptions(avatars_dir=tmp_path / "a", extra_avatars_dirs=(tmp_path / "u",))
    assert options.avatar_dirs == [tmp_path / "a", tmp_path / "u"]
    assert "extra_avatars_dirs" not in options.portable(), "each machine has its own directories"


@pytest.mark.parametrize("pack_id", ["../etc", "..", "a/b", "/etc", "Default", "", "x" * 65])
def test_pack_ids_that_could_escape_or_are_malformed_are_refused(avatars: Path, pack_id: str) -> None:
    with pytest.raises(AvatarPackError, match="invalid pack id"):
        load_pack(pack_id, avatars)


def test_missing_manifest(avatars: Path) -> None:
    (avatars / "bare").mkdir()
    with pytest.raises(AvatarPackError, match="'bare': missing .*manifest.json"):
        load_pack("bare", avatars)


def test_manifest_that_is_not_json(avatars: Path) -> None:
    directory = make_pack(avatars, "broken")
    (directory / "manifest.json").write_text("{not json")
    with pytest.raises(AvatarPackError, match="'broken': invalid .*manifest.json"):
        load_pack("broken", avatars)


def test_manifest_with_bad_fields(avatars: Path) -> None:
    make_pack(avatars, "badfps", fps="fast")
    with pytest.raises(AvatarPackError, match="'badfps': invalid .*manifest.json.*fps"):
        load_pack("badfps", avatars)


def test_manifest_id_must_match_its_directory(avatars: Path) -> None:
    directory = make_pack(avatars, "alias")
    manifest = json.loads((directory / "manifest.json").read_text()) | {"id": "default"}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AvatarPackError, match="'alias'.*must match the directory name"):
        load_pack("alias", avatars)


def test_source_outside_the_pack_is_refused(avatars: Path) -> None:
    make_pack(avatars, "sneaky", source="../default/portrait.png")
    with pytest.raises(AvatarPackError, match="'sneaky'.*must be a file inside"):
        load_pack("sneaky", avatars)


def test_unreadable_image(avatars: Path) -> None:
    directory = make_pack(avatars, "garbled")
    (directory / "portrait.png").write_bytes(b"this is not an image")
    with pytest.raises(AvatarPackError, match="'garbled': cannot read the portrait"):
        CpuEngine().prepare(load_pack("garbled", avatars))


def test_missing_image(avatars: Path) -> None:
    make_pack(avatars, "noimage", source="missing.png")
    with pytest.raises(AvatarPackError, match="'noimage': cannot read the portrait"):
        CpuEngine().prepare(load_pack("noimage", avatars))


def test_image_without_a_face(avatars: Path) -> None:
    directory = make_pack(avatars, "grey")
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(directory / "portrait.png")
    engine = CpuEngine()
    with pytest.raises(AvatarPackError, match="'grey': no face found in portrait.png.*\"face\""):
        engine.prepare(load_pack("grey", avatars))
    assert engine.rigs_built == 0


def test_manual_face_box_is_used_and_keys_the_cache(avatars: Path) -> None:
    pack = load_pack("default", avatars)
    detected = pack.locate_face(pack.load_image()).box
    make_pack(avatars, "boxed", face={"box": [round(v) + 1 for v in detected]})  # a hand-placed box, 1 px off
    boxed = CpuEngine().prepare(load_pack("boxed", avatars))
    default = CpuEngine().prepare(load_pack("default", avatars))
    assert boxed.cache_dir != default.cache_dir
    mouth_distance = np.abs(boxed.material.mouth_centre - default.material.mouth_centre).max()
    assert mouth_distance < 6, "a box around the same face must find the same mouth"


def test_too_few_pinned_key_points_is_a_manifest_error(avatars: Path) -> None:
    make_pack(avatars, "pinned", face={"key_points": {"chin": [140, 178]}})
    with pytest.raises(AvatarPackError, match="'pinned': invalid \"face\" geometry.*at least 3"):
        CpuEngine().prepare(load_pack("pinned", avatars))


def test_list_packs_skips_invalid_ones(avatars: Path) -> None:
    make_pack(avatars, "second", display_name="Second")
    (make_pack(avatars, "third") / "manifest.json").write_text("[]")
    assert [p.id for p in list_packs(avatars)] == ["default", "second"]


def test_default_avatars_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(AVATARS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_avatars_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(AVATARS_DIR_ENV)
    (tmp_path / "avatars").mkdir()
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert default_avatars_dir() == tmp_path / "avatars"
