"""The backtest: reading logs, rejected lines, ``until``, and the report."""

import gzip

from streams.backtest.report import REJECTION_EXAMPLES
from streams.backtest.run import backtest_file, run_backtest
from streams.backtest.event_log import read_text
from streams.model.codec import Limits, decode_record
from streams.model.events import encode_event
from streams.policy.loading import default_policy_path, load_policy
from streams.devtools.traffic import generate_history

from tests.support.builders import DAY, email, line, login, moment, policy, purchase
from tests.support.policies import SMALL

HISTORY = [purchase(0, "a"), login(3, "a"), purchase(0, "b"), email(1, "delivered", "b"), purchase(30, "c")]


def test_report_counts_triggers_commands_and_stages():
    report = run_backtest([line(event) for event in HISTORY], policy(SMALL))
    figures = report.as_dict()
    assert figures["events"] == 5 and figures["customers"] == 3 and figures["rejected"] == 0
    assert figures["until"] == "2024-01-31T12:00:00+00:00"  # the last event
    # a: lapses on day 8, b on day 5: both reach sunset by day 30; c just bought.
    assert figures["triggers"] == {"reactivation": 2, "winback": 2, "sunset": 0}
    assert figures["commands"] == {"email": 4, "sms": 2, "push": 2}
    assert figures["stages"] == {"active": 1, "reactivation": 0, "winback": 2, "sunset": 0}
    assert 0 < figures["state_bytes_per_customer"] < 300


def test_until_fires_everything_due_at_or_before_it_and_leaves_later_events_out():
    report = run_backtest([line(event) for event in HISTORY], policy(SMALL), until=moment(5))
    assert report.triggers["reactivation"] == 1  # b, due exactly at day 5
    assert report.after_until == 1  # c's purchase on day 30
    assert report.customers == 3


def test_a_far_future_line_is_rejected_by_the_stream_s_rule_and_does_not_move_the_end():
    """'Now' is the wall clock at the run (here day 40): the same check, limit and reason as a worker's."""
    limits = Limits(max_future_skew_seconds=DAY)
    far, just_in, just_out = login(36500, "d"), login(41, "e"), login(41 + 1 / 86400, "f")
    lines = [line(event) for event in [*HISTORY, far, just_in, just_out]]

    report = run_backtest(lines, policy(SMALL), limits=limits, now=moment(40))

    assert report.rejected_reasons == {"future_timestamp": 2}
    assert [example["line"] for example in report.rejected_examples] == [6, 8]
    assert report.until == moment(41)  # the latest accepted event, not 2123
    for event, example in zip([far, just_out], report.rejected_examples):
        stream = decode_record(encode_event(event), "login", now=moment(40), limits=limits)
        assert (example["reason"], example["detail"]) == (stream.reason, stream.detail)


def test_the_wall_clock_is_the_default_now(tmp_path):
    lines = [line(purchase(0)), line(login(36500))]
    (tmp_path / "log.jsonl").write_bytes(b"\n".join(lines))
    assert run_backtest(lines, policy(SMALL)).rejected_reasons == {"future_timestamp": 1}
    assert backtest_file(tmp_path / "log.jsonl", policy(SMALL)).rejected_reasons == {"future_timestamp": 1}


def test_bad_lines_are_counted_with_reasons_and_a_few_examples():
    bad = [b"not json", b'{"type": "refund"}', b'{"type": "login"}'] * 3
    records = []
    report = run_backtest(bad + [line(purchase(0))], policy(SMALL), on_record=lambda *pair: records.append(pair))
    assert report.rejected == 9 and report.events == 1
    assert report.rejected_reasons == {"malformed_json": 3, "unknown_type": 3, "missing_field": 3}
    assert len(report.rejected_examples) == REJECTION_EXAMPLES
    assert report.rejected_examples[0]["line"] == 1 and report.rejected_examples[0]["reason"] == "malformed_json"
    assert records == []  # until defaults to the only event: nothing is due yet


def test_a_line_that_is_not_utf8_inside_a_string_is_rejected_not_fatal():
    bad = line(login(1)).replace(b'"l-c1-1"', b'"l-c1-\xff"')
    report = run_backtest([line(purchase(0)), bad, line(login(2))], policy(SMALL))
    assert report.rejected == 1 and report.rejected_examples[0]["line"] == 2
    assert report.rejected_examples[0]["reason"] == "malformed_json" and report.events == 2


def test_a_line_nested_1000_deep_is_rejected_not_fatal():
    """Issue #18, item 1: the backtest crashed with RecursionError on this line."""
    deep = line(login(1))[:-1] + b',"extra":' + b"[" * 1000 + b"]" * 1000 + b"}"
    report = run_backtest([line(purchase(0)), deep, line(login(2))], policy(SMALL))
    assert report.rejected_reasons == {"too_deep": 1} and report.rejected_examples[0]["line"] == 2
    assert report.events == 2


def test_on_record_sees_each_customers_records_in_order():
    seen = []
    run_backtest([line(event) for event in HISTORY], policy(SMALL), on_record=lambda customer, record: seen.append((customer, record)))
    stages_of_a = [record.stage for customer, record in seen if customer == "a"]
    assert stages_of_a == ["reactivation", "reactivation", "reactivation", "winback", "winback", "winback"]


def test_files_plain_and_gzipped_with_blank_lines(tmp_path):
    plain, packed = tmp_path / "log.jsonl", tmp_path / "log.data"
    text = b"\n".join(line(event) for event in HISTORY) + b"\n\n"
    plain.write_bytes(text)
    packed.write_bytes(gzip.compress(text))  # recognised by content, whatever the name
    assert b"".join(read_text(packed)) == text
    assert backtest_file(plain, policy(SMALL)).as_dict() == backtest_file(packed, policy(SMALL)).as_dict()


def test_read_text_gives_pieces_that_end_at_line_ends(tmp_path):
    text = b"first line\n\na longer second line\nx\nno newline at the end"
    (tmp_path / "log.jsonl").write_bytes(text)
    for piece_bytes in (1, 5, 12, 1000):
        pieces = list(read_text(tmp_path / "log.jsonl", piece_bytes=piece_bytes))
        assert b"".join(pieces) == text
        assert all(piece.endswith(b"\n") for piece in pieces[:-1]) and pieces[-1].endswith(b"end")


def test_empty_log():
    report = run_backtest([], policy(SMALL))
    assert report.as_dict()["until"] is None and report.customers == 0


def test_a_report_without_on_record_counts_like_one_from_full_records():
    """Without ``on_record`` the engine records only what the report counts: the report must not change.

    The full policy over a generated shop makes every kind of record: triggers of every stage,
    commands on every channel, skips for every reason but sunset and caught_up (a backtest
    re-enacts every stage), and conversions in every group of both campaigns, holdouts included.
    """
    lines = [encode_event(event) for event in generate_history(200, 450, seed=4)]
    full_policy = load_policy(default_policy_path().with_name("policy.full.yaml"))
    full_records = []
    counted = run_backtest(lines, full_policy).as_dict()
    assert counted == run_backtest(lines, full_policy, on_record=lambda *pair: full_records.append(pair)).as_dict()
    assert len(full_records) > 1000
    assert all(counted["triggers"].values()) and all(counted["commands"].values())
    assert all(count for reason, count in counted["skips"].items() if reason not in ("sunset", "caught_up"))
    for name in ("reactivation", "winback"):
        groups = [counted["campaigns"][name]["holdout"], *counted["campaigns"][name]["variants"].values()]
        assert all(group["conversions"] and group["revenue"] for group in groups)


def test_an_erasure_line_is_counted_and_the_customer_ends_in_no_stage():
    erasure = b'{"type":"erasure","customer_id":"a","erased_at":"2024-01-05T12:00:00Z"}'
    report = run_backtest([*(line(event) for event in HISTORY), erasure], policy(SMALL), now=moment(100))
    figures = report.as_dict()
    assert figures["erasures"] == 1 and figures["customers"] == 3
    assert figures["stages"] == {"active": 1, "reactivation": 0, "winback": 1, "sunset": 0}  # a is gone
    assert figures["triggers"] == {"reactivation": 1, "winback": 1, "sunset": 0}  # only b lapsed
