"""Backtest invariants over random event histories.

* the order of the file's lines does not change the outcome;
* duplicated lines change nothing but the duplicate count;
* each customer's triggers and commands match a brute-force oracle that walks the calendar day
  by day and asks "how long has this customer been inactive?", with none of the engine's
  next-due arithmetic.

Events happen at noon and thresholds and step offsets are whole days, so every due time falls
on one of the oracle's daily checks.
"""

from __future__ import annotations

import statistics
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.backtest.run import run_backtest
from streams.model.records import MessageCommand, Trigger
from streams.model.records import STAGES
from streams.policy.sections import Policy

from tests.support.builders import DAY, email, line, login, moment, purchase
from tests.support.policies import POLICIES

SIGNAL = {"purchase": "purchase", "login": "login", "open": "email_open", "click": "email_click"}
KINDS = ["purchase"] * 4 + ["login", "open", "click", "delivered", "unsubscribe"]

histories = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 60), st.sampled_from(KINDS)), min_size=1, max_size=40
)


def build(customer: str, day: int, kind: str, number: int):
    event_id = f"e{number}"
    if kind == "purchase":
        return purchase(day, customer, event_id=event_id, categories=("shoes", "bags")[number % 2 :])
    if kind == "login":
        return login(day, customer, event_id=event_id)
    return email(day, kind, customer, event_id=event_id)


def backtest(lines: list[bytes], chosen: Policy, until_day: int | None):
    records: dict[str, list] = defaultdict(list)
    until = moment(until_day) if until_day is not None else None
    report = run_backtest(lines, chosen, until=until, on_record=lambda customer, record: records[customer].append(record))
    return report.as_dict(), dict(records)


def outline(record) -> tuple:
    day = ((record.fired_at if isinstance(record, Trigger) else record.due_at).timestamp() - moment(0)) / DAY
    step = None if isinstance(record, Trigger) else record.step
    return ("trigger" if step is None else "command", record.stage, step, record.episode, day)


def oracle(history: list[tuple[str, int, str]], chosen: Policy, until_day: int) -> dict[str, list[tuple]]:
    """What each customer should receive, found by walking the calendar one day at a time."""
    ladder = [(STAGES.index(name), threshold) for name, threshold in chosen.stages.configured()]
    offsets = {STAGES.index(name): [step.after_days for step in campaign.steps] for name, campaign in chosen.campaigns.items()}
    by_customer: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for customer, day, kind in history:
        by_customer[customer][day].append(kind)
    expected = {}
    for customer, days in by_customer.items():
        last_active, purchase_days, stage, entered, step, episode = None, [], 0, 0, 0, 0
        fired = []
        for today in range(min(days), until_day + 1):
            for kind in days.get(today, []):
                if kind == "purchase" and today not in purchase_days:
                    purchase_days.append(today)
                if SIGNAL.get(kind) in chosen.activity.signals:
                    last_active = today
                    if stage:
                        stage, entered, step, episode = 0, today, 0, episode + 1
            while last_active is not None:
                later = [(code, threshold) for code, threshold in ladder if code > stage]
                if later and today - last_active >= later[0][1].days_for(cadence_days(purchase_days)):
                    stage, entered, step = later[0][0], today, 0
                    fired.append(("trigger", STAGES[stage], None, episode, today))
                    continue
                steps = offsets.get(stage, [])
                if stage and step < len(steps) and today - entered >= steps[step]:
                    fired.append(("command", STAGES[stage], step, episode, today))
                    step += 1
                    continue
                break
        if fired:
            expected[customer] = fired
    return expected


def cadence_days(purchase_days: list[int]) -> float | None:
    gaps = [later - earlier for earlier, later in zip(purchase_days, purchase_days[1:])][-5:]
    return statistics.median(gaps) if len(gaps) >= 2 else None


@settings(max_examples=150, deadline=None)
@given(history=histories, chosen=st.sampled_from(POLICIES), extra_days=st.none() | st.integers(0, 80))
def test_matches_the_day_by_day_oracle(history, chosen, extra_days):
    events = [build(customer, day, kind, number) for number, (customer, day, kind) in enumerate(history)]
    until_day = max(day for _, day, _ in history) + (extra_days or 0)
    _, records = backtest([line(event) for event in events], chosen, until_day if extra_days is not None else None)
    sent = {customer: [outline(record) for record in got if isinstance(record, (Trigger, MessageCommand))] for customer, got in records.items()}
    assert {customer: outlines for customer, outlines in sent.items() if outlines} == oracle(
        sorted(history, key=lambda item: item[1]), chosen, until_day
    )


@settings(max_examples=100, deadline=None)
@given(history=histories, chosen=st.sampled_from(POLICIES), extra_days=st.integers(0, 80), data=st.data())
def test_line_order_does_not_matter(history, chosen, extra_days, data):
    lines = [line(build(customer, day, kind, number)) for number, (customer, day, kind) in enumerate(history)]
    lines += [b"{broken", b'{"type": "login"}']
    until_day = max(day for _, day, _ in history) + extra_days
    shuffled = data.draw(st.permutations(lines))
    (report, records), (shuffled_report, shuffled_records) = backtest(lines, chosen, until_day), backtest(shuffled, chosen, until_day)
    del report["rejected_examples"], shuffled_report["rejected_examples"]  # they quote line numbers
    assert shuffled_report == report
    assert shuffled_records == records


@settings(max_examples=100, deadline=None)
@given(history=histories, chosen=st.sampled_from(POLICIES), data=st.data())
def test_duplicated_lines_change_nothing(history, chosen, data):
    lines = [line(build(customer, day, kind, number)) for number, (customer, day, kind) in enumerate(history)]
    copies = data.draw(st.lists(st.sampled_from(lines), min_size=1, max_size=15))
    with_copies = data.draw(st.permutations(lines + copies))
    report, records = backtest(lines, chosen, None)
    duplicated_report, duplicated_records = backtest(with_copies, chosen, None)
    assert duplicated_report.pop("duplicates") == len(copies) and report.pop("duplicates") == 0
    assert duplicated_report.pop("events") == report.pop("events") + len(copies)
    assert duplicated_report == report
    assert duplicated_records == records
