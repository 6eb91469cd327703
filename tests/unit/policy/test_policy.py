"""Policy files: the example is valid, and every mistake is reported with file, key path and line."""

import pytest

from streams.policy.messages import PolicyError
from streams.policy.loading import default_policy_path, load_policy, parse_policy
from streams.policy.sections import MAX_DAYS

from tests.support.policies import SMALL


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="p.yaml")
    return caught.value.problems


def test_the_bundled_example_is_valid():
    policy = load_policy(default_policy_path())
    assert [stage for stage, _ in policy.stages.configured()] == ["reactivation", "winback", "sunset"]
    assert policy.activity.signals == ["purchase", "login", "email_click"]
    winback = policy.campaigns["winback"]
    assert [step.channel for step in winback.steps] == ["email", "sms", "email"]
    assert winback.steps[0].offer.percent_off == 20
    assert winback.expiry_days(winback.steps[0]) == 3.0


def test_defaults_and_overrides():
    policy = parse_policy(SMALL)
    assert policy.activity.signals == ["purchase", "login", "email_click"]
    winback = policy.campaigns["winback"]
    assert winback.expiry_days(winback.steps[0]) == 2
    assert winback.expiry_days(winback.steps[1]) == 1


def test_thresholds_fixed_and_adaptive():
    policy = parse_policy(
        "stages:\n  reactivation: {days: 20}\n  winback: {min_days: 30, cadence_multiplier: 3, max_days: 100}\n"
    )
    assert policy.stages.reactivation.days_for(None) == 20
    adaptive = policy.stages.winback
    assert adaptive.adaptive and not policy.stages.reactivation.adaptive
    assert adaptive.days_for(None) == 30  # cadence unknown: the floor
    assert adaptive.days_for(5) == 30
    assert adaptive.days_for(12.2) == 37  # 3 x 12.2 rounded up to whole days
    assert adaptive.days_for(90) == 100
    unbounded = parse_policy("stages:\n  winback: {min_days: 30, cadence_multiplier: 36525}\n").stages.winback
    assert unbounded.days_for(10_000) == MAX_DAYS  # without max_days, at most a hundred years


def test_unknown_key_gets_a_suggestion_and_a_line():
    found = problems("stages:\n  reactivation: 30\ncampaigns:\n  reactivation:\n    stpes: []\n")
    assert "p.yaml: campaigns.reactivation.stpes: unknown key (did you mean 'steps'?) (line 5)" in found
    assert "p.yaml: campaigns.reactivation.steps: required key is missing (line 4)" in found


STEPS = "[{after_days: 0, channel: email, template: a}]"
STEP = "stages: {reactivation: 30}\ncampaigns:\n  reactivation:\n    steps: [{after_days: 0, channel: email, template: a, %s}]\n"
STEP_KEY = "campaigns.reactivation.steps[0]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a key of another level is never suggested, even one spelled exactly as typed
        ("stages: {reactivation: 30}\nchannel: {}\n", "channel: unknown key (did you mean 'channels'?) (line 2)"),
        ("stages: {reactivation: 30}\nsignals: [login]\n", "signals: unknown key (line 2)"),
        (STEP % "after: 1", f"{STEP_KEY}.after: unknown key (did you mean 'after_days' or 'offer'?) (line 4)"),
        (
            f"stages: {{reactivation: 30}}\ncampaigns: {{reactivation: {{offer: {{}}, steps: {STEPS}}}}}\n",
            "campaigns.reactivation.offer: unknown key (line 2)",
        ),
        # words swapped, or only some of them
        (STEP % "days_after: 1", f"{STEP_KEY}.days_after: unknown key (did you mean 'after_days' or 'expires_after_days'?) (line 4)"),
        (
            "stages: {reactivation: {min_days: 3, cadence: 2}}\n",
            "stages.reactivation.cadence: unknown key (did you mean 'cadence_multiplier'?) (line 1)",
        ),
        # plain misspellings, closest first
        (STEP % "chanel: sms", f"{STEP_KEY}.chanel: unknown key (did you mean 'channel'?) (line 4)"),
        (STEP % "expire_days: 2", f"{STEP_KEY}.expire_days: unknown key (did you mean 'expires_after_days' or 'after_days'?) (line 4)"),
        (
            "stages: {reactivation: {min_day: 3, cadence_multiplier: 2}}\n",
            "stages.reactivation.min_day: unknown key (did you mean 'min_days' or 'max_days'?) (line 1)",
        ),
        ("stages: {reactivation: 30}\ncaps: {limit: []}\n", "caps.limit: unknown key (did you mean 'limits'?) (line 2)"),
    ],
)
def test_suggestions_are_keys_valid_at_that_place_closest_first(text, expected):
    assert problems(text) == [f"p.yaml: {expected}"]


def test_every_problem_is_listed_at_once():
    found = problems(
        """
activity: {signals: [purchase, logn]}
stages: {reactivation: 30, winback: {days: 10, min_days: 3}, sunset: true}
campaigns:
  reactivation:
    steps: [{after_days: -1, channel: Fax, template: a, offer: {percent_off: 0}}]
"""
    )
    paths = [problem.split(": ")[1] for problem in found]
    assert paths == [
        "activity.signals[1]",
        "stages.winback",
        "stages.sunset",
        "campaigns.reactivation.steps[0].after_days",
        "campaigns.reactivation.steps[0].channel",
        "campaigns.reactivation.steps[0].offer.percent_off",
    ]
    assert all(problem.startswith("p.yaml: ") for problem in found)
    assert "not both" in found[1]
    assert "should match pattern" in found[4]  # not a channel name at all (an unknown name: test_channels)


def test_problems_are_listed_in_line_order_those_without_a_line_last():
    found = problems(
        """
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: Fax, template: a}]
caps: {when_capped: never}
caps: {when_capped: later}
"""
    )
    assert found == [
        "p.yaml: campaigns.reactivation.steps[0].channel: String should match pattern '^[a-z][a-z0-9_]{0,31}$' (line 4)",
        "p.yaml: caps: repeated key; only the last one would count (line 6)",
        "p.yaml: caps.when_capped: Input should be 'defer' or 'skip' (line 6)",
        "p.yaml: stages: required key is missing",
    ]


def test_cross_field_conflicts():
    found = problems(
        """
stages: {reactivation: 30, winback: 30}
campaigns:
  winbak:
    steps: [{after_days: 0, channel: email, template: a}]
  sunset:
    steps: [{after_days: 0, channel: email, template: a}]
  reactivation:
    steps:
      - {after_days: 5, channel: email, template: a}
      - {after_days: 2, channel: email, template: b}
"""
    )
    assert found == [
        "p.yaml: stages.winback: must start after reactivation (30 days is not more than 30 days) (line 2)",
        "p.yaml: campaigns.winbak: not a stage (did you mean 'winback'?) (line 4)",
        "p.yaml: campaigns.sunset: stage sunset has no threshold under stages (line 6)",
        "p.yaml: campaigns.reactivation.steps[1].after_days: 2 days is earlier than the step before it (line 11)",
    ]


def test_a_step_after_the_next_stage_starts_would_never_be_sent():
    found = problems(
        "stages: {reactivation: 30, winback: 90}\ncampaigns:\n  reactivation:\n    steps:\n"
        "      - {after_days: 0, channel: email, template: a}\n      - {after_days: 60, channel: email, template: b}\n"
    )
    assert found == [
        "p.yaml: campaigns.reactivation.steps[1].after_days: never sent: the next stage starts 60 days after reactivation (line 6)"
    ]


def test_adaptive_thresholds_are_ordered_by_their_floors():
    found = problems("stages:\n  reactivation: {min_days: 40, cadence_multiplier: 2}\n  winback: 35\n")
    assert found == ["p.yaml: stages.winback: must start after reactivation (35 days is not more than 40 days) (line 3)"]
    assert problems("stages:\n  reactivation: {min_days: 40, cadence_multiplier: 2, max_days: 20}\n") == [
        "p.yaml: stages.reactivation: max_days is smaller than min_days (line 2)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stages: [1\n", "p.yaml: line 2, column 1: expected ',' or ']', but got '<stream end>'"),
        ("", "p.yaml: (top level): expected a mapping with stages and campaigns"),
        ("- 1\n", "p.yaml: (top level): expected a mapping with stages and campaigns"),
        ("campaigns: {}\n", "p.yaml: stages: required key is missing"),
        ("stages: {}\n", "p.yaml: stages: configure at least one of reactivation, winback, sunset (line 1)"),
        ("stages: {reactivation: 0}\n", "p.yaml: stages.reactivation.days: Input should be greater than 0 (line 1)"),
        # More than a hundred years: the engine would write dates past the year 9999 and crash.
        ("stages: {reactivation: 3000000}\n", "p.yaml: stages.reactivation.days: Input should be less than or equal to 36525 (line 1)"),
        (STEP % "expires_after_days: 5000000", f"p.yaml: {STEP_KEY}.expires_after_days: Input should be less than or equal to 36525 (line 4)"),
    ],
)
def test_malformed_files(text, expected):
    assert problems(text) == [expected]


def test_repeated_keys_are_reported_not_silently_merged():
    found = problems("stages:\n  reactivation: 10\n  reactivation: 20\n")
    assert found == ["p.yaml: stages.reactivation: repeated key; only the last one would count (line 3)"]


def test_unreadable_file(tmp_path):
    with pytest.raises(PolicyError, match="missing.yaml: cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_catch_up_is_latest_or_all_and_unset_by_default():
    assert parse_policy(SMALL).catch_up is None  # the caller's default applies
    assert parse_policy(SMALL + "catch_up: all\n").catch_up == "all"
    with pytest.raises(PolicyError) as raised:
        parse_policy(SMALL + "catch_up: sometimes\n", source="p.yaml")
    assert str(raised.value).startswith("p.yaml: catch_up: Input should be 'latest' or 'all' (line ")


def test_late_events_bound_a_retraction_in_days_and_are_off_by_default():
    assert parse_policy(SMALL).late_events is None  # a late event never retracts
    assert parse_policy(SMALL + "late_events: {retract_within_days: 2.5}\n").late_events.retract_within_days == 2.5
    for text, message in [
        ("late_events: {retract_within_days: 0}\n", "p.yaml: late_events.retract_within_days: Input should be greater than 0 (line "),
        ("late_events: {retract_within: 7}\n", "p.yaml: late_events.retract_within: unknown key (did you mean 'retract_within_days'?)"),
    ]:
        with pytest.raises(PolicyError) as raised:
            parse_policy(SMALL + text, source="p.yaml")
        assert message in str(raised.value)


def test_aliases_that_expand_to_billions_of_values_are_refused_at_once():
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for name, alias in zip("bcdefghi", "abcdefgh"):
        laughs.append(f"{name}: &{name} [{', '.join([f'*{alias}'] * 9)}]")  # 9 ** 9 values under i

    assert problems("\n".join(laughs) + "\n") == [
        "p.yaml: more than 100,000 keys and items with its aliases expanded: write it out without nesting aliases"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n", "p.yaml: a[0]: an alias inside the list or mapping it names (line 1)"),
        ("stages: &s\n  reactivation: *s\n", "p.yaml: stages.reactivation: an alias inside the list or mapping it names (line 2)"),
    ],
)
def test_an_alias_inside_what_it_names_is_one_problem_not_a_recursion_error(text, expected):
    assert problems(text) == [expected]


def test_lists_nested_too_deeply_for_the_yaml_reader_are_one_problem():
    assert problems("stages: " + "[" * 2000 + "]" * 2000 + "\n") == ["p.yaml: lists or mappings nested too deeply to read"]


def test_an_alias_used_twice_is_fine():
    policy = parse_policy(
        "stages: {reactivation: 30}\ncampaigns:\n  reactivation:\n    steps:\n"
        "      - &step {after_days: 0, channel: email, template: a}\n      - *step\n"
    )
    assert [step.template for step in policy.campaigns["reactivation"].steps] == ["a", "a"]


def test_a_merged_mapping_s_keys_can_be_overridden_but_not_written_twice():
    """``<<: *first`` merges a step's keys; keys written beside it override them (YAML's merge
    rule), only a key written twice in the same mapping is a mistake."""
    text = (
        "stages: {reactivation: 30}\ncampaigns:\n  reactivation:\n    steps:\n"
        "      - &first {after_days: 0, channel: email, template: miss-you}\n"
        "      - {<<: *first, after_days: 7, template: new-arrivals}\n"
    )
    second = parse_policy(text).campaigns["reactivation"].steps[1]
    assert (second.after_days, second.channel, second.template) == (7, "email", "new-arrivals")
    twice = text + "      - {<<: *first, after_days: 10, after_days: 12}\n"
    assert problems(twice) == ["p.yaml: campaigns.reactivation.steps[2].after_days: repeated key; only the last one would count (line 7)"]

