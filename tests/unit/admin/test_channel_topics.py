"""The policy's own channels' topics: published to, created by ``topics ensure``, granted in the ACLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.admin.acls import worker_acls
from streams.admin.topics import required_topics
from streams.policy.messages import PolicyError
from streams.runtime.settings import Settings

POLICY = """
stages: {reactivation: 30}
channels:
  custom:
    catalog: {kind: direct_mail, topic: shop.print.catalog}
    lookalike: {kind: audience, topic: shop.ads.audiences, audience_id: lapsed}
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: catalog, template: spring}]
"""


def settings_with(tmp_path: Path, text: str) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    return Settings(broker="127.0.0.1:9092", policy=policy)


def test_custom_channels_add_their_topics_to_the_built_ins(tmp_path: Path):
    settings = settings_with(tmp_path, POLICY)
    assert settings.command_topics == {
        "email": "winback.commands.email", "sms": "winback.commands.sms", "push": "winback.commands.push",
        "catalog": "shop.print.catalog", "lookalike": "shop.ads.audiences",
    }
    specs = {spec.name: spec for spec in required_topics(settings)}
    assert specs["shop.print.catalog"].retention_ms == specs["winback.commands.email"].retention_ms  # a command topic
    granted = {(acl.resource_name, acl.operation) for acl in worker_acls(settings)}
    assert {("shop.print.catalog", "WRITE"), ("shop.ads.audiences", "WRITE")} <= granted


def test_a_copy_naming_another_policy_has_that_policys_channels(tmp_path: Path):
    settings = settings_with(tmp_path, POLICY)
    assert "catalog" in settings.command_topics
    assert list(settings.model_copy(update={"policy": None}).command_topics) == ["email", "sms", "push"]


def test_a_bad_policy_is_reported_not_ignored(tmp_path: Path):
    with pytest.raises(PolicyError, match="no such channel: catalgo"):
        _ = settings_with(tmp_path, POLICY.replace("channel: catalog", "channel: catalgo")).command_topics
