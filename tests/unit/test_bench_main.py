"""Where `python -m bench` writes its results: untracked by default, bench/results/ only with --publish."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import LOCAL_RESULTS, PUBLISHED_RESULTS, REPO, results_dir


def test_default_results_are_untracked() -> None:
    assert results_dir(None, publish=False) == LOCAL_RESULTS
    assert LOCAL_RESULTS.relative_to(REPO).parts[0] == ".local"  # .gitignore'd


def test_publish_writes_the_tracked_results() -> None:
    assert results_dir(None, publish=True) == PUBLISHED_RESULTS == REPO / "bench" / "results"


def test_an_explicit_folder_wins(tmp_path: Path) -> None:
    assert results_dir(tmp_path, publish=True) == tmp_path
    assert results_dir(tmp_path, publish=False) == tmp_path
