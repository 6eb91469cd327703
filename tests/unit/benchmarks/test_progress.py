"""The pure helpers of benchmarks/progress.py: CPU time from a /proc stat line, the timed window."""

import pytest


def polls(progress, *points):
    """Samples from (seconds, records done) pairs, one CPU second used per record."""
    return [progress.Sample(at=at, done=done, cpu=float(done)) for at, done in points]


def test_cpu_seconds_add_user_and_system_time_counted_after_the_command_name(progress):
    # utime 250 and stime 50 ticks; the command name holds a space and a ")" of its own
    stat = "4242 (java (main) x) S 1 4242 1 0 -1 4194304 102 0 0 0 250 50 0 0 20 0 31 0 3400540 3133440 416"

    assert progress.cpu_seconds_of_stat(stat, ticks=100) == 3.0


def test_the_window_counts_the_records_and_cpu_between_its_two_polls(progress):
    window = progress.Window((progress.Sample(at=10.0, done=200, cpu=1.0), progress.Sample(at=12.0, done=1200, cpu=1.5)))

    assert (window.records, window.seconds) == (1000, 2.0)
    assert window.events_per_second == 500.0
    assert window.cpu_us_per_record == 500.0


async def test_watch_opens_the_window_at_the_last_poll_before_progress_and_closes_it_at_the_last_record(progress):
    counts = iter([0, 0, 40, 70, 100])
    polls = iter(range(100))

    async def done() -> int:
        next(polls)
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert (window.first.done, window.last.done, window.records) == (0, 100, 100)
    assert next(polls) == 5  # no poll after the one that saw every record done


async def test_watch_counts_from_the_first_poll_when_it_already_sees_progress(progress):
    counts = iter([30, 60, 100])

    async def done() -> int:
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert (window.first.done, window.records) == (30, 70)


async def test_watch_says_why_it_gave_up_when_a_process_exits(progress):
    async def done() -> int:
        return 5

    with pytest.raises(RuntimeError, match="a process exited with 5 of 100 records done"):
        await progress.watch(done, [], expected=100, timeout=10, alive=lambda: False)


async def test_watch_counts_records_done_twice_once(progress):
    counts = iter([0, 60, 130])  # 30 re-applied after a rebalance

    async def done() -> int:
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert window.records == 100


def test_the_window_opens_after_the_warm_up_and_a_box_closes_it_before_the_last_record(progress):
    run = polls(progress, (0, 0), (1, 0), (2, 10), (3, 40), (4, 70), (5, 90), (6, 100))

    window = progress.timed_window(run, expected=100, warmup=2, box=2)

    assert (window.first.at, window.last.at, window.records, window.complete) == (3, 5, 50, False)


def test_without_a_box_the_window_closes_at_the_last_record(progress):
    run = polls(progress, (0, 0), (1, 0), (2, 10), (3, 40), (4, 70), (5, 90), (6, 100))

    window = progress.timed_window(run, expected=100, warmup=2)

    assert (window.first.at, window.last.at, window.complete) == (3, 6, True)


def test_a_run_reporting_batches_is_timed_and_cut_from_batch_to_batch(progress):
    run = polls(progress, (0, 0), (1, 10_000), (2, 10_000), (3, 20_000), (4, 20_000), (5, 30_000), (6, 30_000), (7, 40_000))

    window = progress.timed_window(run, expected=100_000, warmup=1.5, box=3)

    assert (window.first.at, window.last.at, window.events_per_second) == (3, 7, 5_000)
    assert window.slice_rates() == [5_000, 5_000]


def test_a_run_done_within_its_warm_up_is_timed_whole(progress):
    run = polls(progress, (0, 0), (1, 60), (1.5, 100))

    window = progress.timed_window(run, expected=100, warmup=2, box=5)

    assert (window.first.at, window.last.at, window.records) == (0, 1.5, 100)


def test_the_window_is_open_until_the_warm_up_and_the_box_have_passed(progress):
    assert progress.timed_window(polls(progress, (0, 0), (1, 10)), expected=100, warmup=2, box=1) is None
    assert progress.timed_window(polls(progress, (0, 0), (2, 10), (3, 30)), expected=100, warmup=2, box=2) is None


def test_the_spread_is_the_rate_of_each_second_and_a_short_rest_joins_the_last_one(progress):
    window = progress.Window(tuple(polls(progress, (0, 0), (0.5, 50), (1.0, 100), (1.5, 120), (2.0, 140), (2.25, 160))))

    assert window.slice_rates() == pytest.approx([100, 60 / 1.25])


def test_a_rest_of_half_a_second_or_more_is_a_second_of_its_own(progress):
    window = progress.Window(tuple(polls(progress, (0, 0), (1.0, 100), (1.6, 130))))

    assert window.slice_rates() == pytest.approx([100, 50])


def shares(progress, *points):
    return [progress.Shares(at, done) for at, done in points]


def test_a_group_is_timed_while_all_of_it_works_each_member_from_batch_to_batch(progress):
    timeline = shares(
        progress,
        (0, (0, 0)),
        (1, (10, 0)),  # the first member alone
        (2, (20, 0)),
        (3, (30, 10)),  # both at work from here
        (4, (35, 20)),
        (5, (40, 30)),
        (6, (45, 40)),  # the second has done all it will
        (8, (60, 40)),  # the first alone again
    )

    # the first: 15 records from 3 s to 6 s; the second: 30 from 3 s to 6 s
    assert progress.together_rate(timeline) == 5 + 10


def test_a_lone_process_is_timed_from_its_first_batch_to_its_last(progress):
    timeline = shares(progress, (0, (0,)), (1, (0,)), (2, (10,)), (2.5, (10,)), (3, (20,)), (4, (30,)))

    assert progress.together_rate(timeline) == 10


def test_a_group_that_never_worked_together_has_no_such_rate(progress):
    assert progress.together_rate(shares(progress, (0, (0, 0)), (1, (10, 0)), (2, (20, 0)))) is None
    assert progress.together_rate(shares(progress, (0, (0, 0)), (1, (10, 5)), (2, (20, 5)))) is None
