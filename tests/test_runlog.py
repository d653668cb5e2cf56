"""Progress logs: after a resume, the rate and ETA are those of the new work only."""

import logging

from insta_rs.runtime import runlog


def test_recovered_items_count_as_done_but_not_in_the_rate(monkeypatch, caplog):
    clock = iter([0.0, 20.0, 40.0])
    monkeypatch.setattr(runlog.time, "monotonic", lambda: next(clock))
    progress = runlog.Progress(logging.getLogger("test"), total=100, what="examples certified", every_s=10)
    progress.recovered(60)      # from the partial file: not computed now
    with caplog.at_level(logging.INFO):
        progress.update(10)     # 10 new examples in 20 s: 0.5/s, 30 left: ETA 60 s
        progress.update(10)     # 20 new in 40 s
    assert caplog.messages == ["70/100 examples certified (0.50/s, 60 recovered, ETA 60s)",
                               "80/100 examples certified (0.50/s, 60 recovered, ETA 40s)"]


def test_an_upper_bound_says_so_and_a_caller_may_log_its_own_summary(monkeypatch, caplog):
    clock = iter([0.0, 5.0, 20.0, 21.0])
    monkeypatch.setattr(runlog.time, "monotonic", lambda: next(clock))
    progress = runlog.Progress(logging.getLogger("test"), total=100, what="forward passes", every_s=10,
                               at_most=True, final=False)
    with caplog.at_level(logging.INFO):
        progress.update(10)     # 5 s: not yet due
        progress.update(30)     # 40 in 20 s: 2/s, at most 60 left: ETA at most 30 s
        progress.update(60)     # all done 1 s later, but final is off and the interval has not passed
    assert caplog.messages == ["40 of at most 100 forward passes (2.00/s, ETA at most 30s)"]
