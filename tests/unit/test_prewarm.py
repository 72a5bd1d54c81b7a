"""What an idle job process does before its first job: warm the avatar, and wait for a calm CPU first."""

from __future__ import annotations

from pathlib import Path

from agent.prewarm import CALM_CPU_CHECKS, runnable_tasks, wait_for_calm_cpu
from livekit.plugins.musetalk import AvatarOptions, prewarm_avatar


def test_runnable_tasks_reads_the_running_count(tmp_path: Path) -> None:
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.52 0.58 0.59 3/467 12345\n")
    assert runnable_tasks(loadavg) == 3
    assert runnable_tasks(tmp_path / "missing") is None


def test_a_calm_cpu_is_not_waited_for() -> None:
    reads: list[int] = []

    def calm() -> int:
        reads.append(1)
        return 1

    assert wait_for_calm_cpu(2.0, read=calm, cores=2) < 0.5
    assert len(reads) == CALM_CPU_CHECKS


def test_a_busy_cpu_is_waited_for_until_it_calms_down_or_the_limit() -> None:
    busy_then_calm = iter([5, 5, 5, 1, 1, 1])
    waited = wait_for_calm_cpu(5.0, read=lambda: next(busy_then_calm), cores=2)
    assert 0.1 <= waited < 2.0
    assert 0.3 <= wait_for_calm_cpu(0.3, read=lambda: 9, cores=2) < 1.0, "never longer than the limit"


def test_no_load_figures_means_no_wait() -> None:
    assert wait_for_calm_cpu(2.0, read=lambda: None, cores=2) < 0.1


def test_prewarm_avatar_runs_a_start_off_the_clock() -> None:
    assert prewarm_avatar(AvatarOptions(video_encoder="x264")) > 0
    assert prewarm_avatar(AvatarOptions(video_encoder="x264", fps=50)) > 0, "a rate above 30 fps opens its encoder"
