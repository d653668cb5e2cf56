"""Tests for insta_rs.workflow.launch's run lock (the workflow test starts two real runs at the same moment:
test_results_folder.py)."""

from insta_rs.workflow import launch


def test_the_run_lock_is_held_until_released_and_refused_meanwhile(tmp_path):
    lock = tmp_path / ".snakemake" / "insta-rs-run.lock"
    assert launch.take_run_lock(lock)
    try:
        assert not launch.take_run_lock(lock)  # another open file of this process, as another process would be
    finally:
        launch._held.pop().close()  # what the kernel does when the holding process ends
    assert launch.take_run_lock(lock)
    launch._held.pop().close()
