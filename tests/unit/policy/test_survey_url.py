"""A feedback step's survey URL: an https URL whose placeholders are known and name the command."""

import pytest

from streams.policy.loading import parse_policy
from streams.policy.messages import PolicyError

CAMPAIGN = """
stages: {{reactivation: 5}}
campaigns:
  reactivation:
    {campaign_url}
    steps:
      - {{after_days: 0, channel: email, template: a, feedback_request: true{step_url}}}
      - {{after_days: 1, channel: email, template: b}}
"""


def survey(step_url: str = "", campaign_url: str = "") -> str:
    return CAMPAIGN.format(
        step_url=f", survey_url: {step_url!r}" if step_url else "",
        campaign_url=f"survey_url: {campaign_url!r}" if campaign_url else "",
    )


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="p.yaml")
    return caught.value.problems


def test_the_step_s_url_overrides_the_campaign_s_and_only_feedback_steps_have_one():
    campaign = parse_policy(survey("https://a.example/{command_id}", "https://b.example/?m={command_id}&v={variant}")).campaigns["reactivation"]
    first, second = campaign.steps
    assert campaign.survey(first) == "https://a.example/{command_id}"
    assert campaign.survey(second) is None
    inherited = parse_policy(survey(campaign_url="https://b.example/{campaign}/{step}?m={command_id}")).campaigns["reactivation"]
    assert inherited.survey(inherited.steps[0]) == "https://b.example/{campaign}/{step}?m={command_id}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://shop.example/why?m={command_id}", "expected an https URL without spaces, e.g. https://shop.example/why?m={command_id}"),
        ("https:///why?m={command_id}", "expected an https URL without spaces, e.g. https://shop.example/why?m={command_id}"),
        ("https://shop.example/why?m={command_id}&c={customer_id}",
         "unknown placeholder customer_id; known: {command_id}, {campaign}, {step}, {variant}"),
        ("https://shop.example/why?m={command_id!r}", "unknown placeholder command_id; known: {command_id}, {campaign}, {step}, {variant}"),
        ("https://shop.example/why?c={campaign}", "needs {command_id}, so an answer can be credited to its message"),
        ("https://shop.example/why?m={command_id", "unbalanced braces: write placeholders as {command_id}"),
    ],
)
def test_a_bad_survey_url_is_one_clear_problem(url: str, message: str):
    assert problems(survey(url)) == [f"p.yaml: campaigns.reactivation.steps[0].survey_url: {message} (line 7)"]


def test_a_survey_url_on_a_step_without_a_feedback_request_is_refused():
    text = survey().replace("template: b}", "template: b, survey_url: 'https://a.example/{command_id}'}")
    [problem] = problems(text)
    assert "campaigns.reactivation.steps[1]" in problem and "survey_url is for a step with feedback_request: true" in problem
