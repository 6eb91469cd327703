"""The least-privilege ACLs of a worker, computed from the settings (no broker: the proof that a
worker runs with exactly these is tests/integration/admin/test_worker_acls.py)."""

from __future__ import annotations

import json
import shlex

from streams.admin.acls import acls_json, kafka_acls_commands, worker_acls
from streams.admin.topics import changelog_topic, required_topics
from streams.runtime.settings import Settings

SETTINGS = Settings(app_id="shop-winback", topic_purchases="orders", topic_commands_sms="texts")


def granted(settings: Settings) -> dict[tuple[str, str], set[str]]:
    """(resource type, name) -> operations."""
    operations: dict[tuple[str, str], set[str]] = {}
    for acl in worker_acls(settings):
        operations.setdefault((acl.resource_type, acl.resource_name), set()).add(acl.operation)
    return operations


def test_each_topic_gets_what_the_worker_does_with_it_and_nothing_else():
    operations = granted(SETTINGS)
    inputs = {"orders", "shop.logins", "shop.email-engagement", "shop.customer-profiles"}
    outputs = {"winback.triggers", "winback.commands.email", "texts", "winback.commands.push"}
    outputs |= {"winback.skips", "winback.outcomes", "winback.dead-letters", "winback.customer-stage"}
    internal = {"winback.events", "winback.due", "shop-winback-activity-changelog"}
    assert {("TOPIC", name): {"READ", "DESCRIBE_CONFIGS"} for name in inputs}.items() <= operations.items()
    assert {("TOPIC", name): {"WRITE", "DESCRIBE_CONFIGS"} for name in outputs}.items() <= operations.items()
    assert {("TOPIC", name): {"READ", "WRITE", "DESCRIBE_CONFIGS"} for name in internal}.items() <= operations.items()
    assert operations[("GROUP", "shop-winback")] == {"READ"}
    assert len(operations) == len(inputs | outputs | internal) + 1  # no cluster, no other group or topic


def test_every_topic_the_start_check_reads_is_covered_in_its_order():
    topics = list(dict.fromkeys(acl.resource_name for acl in worker_acls(SETTINGS) if acl.resource_type == "TOPIC"))
    assert topics == [spec.name for spec in required_topics(SETTINGS)]
    assert changelog_topic(SETTINGS) in topics


def test_the_worker_creates_nothing_and_needs_no_cluster_permission():
    acls = worker_acls(SETTINGS)
    assert {acl.operation for acl in acls} == {"READ", "WRITE", "DESCRIBE_CONFIGS"}
    assert {acl.resource_type for acl in acls} == {"TOPIC", "GROUP"}
    assert all(acl.why for acl in acls)


def test_kafka_acls_commands_grant_each_resource_s_operations_after_a_comment_why():
    lines = kafka_acls_commands(worker_acls(SETTINGS), "User:worker", "kafka-1:9093")
    comments, commands = lines[0::2], [shlex.split(line) for line in lines[1::2]]
    assert all(comment.startswith("# ") for comment in comments)
    assert len(commands) == len(granted(SETTINGS))
    group = commands[-1]
    assert group[:9] == ["kafka-acls.sh", "--bootstrap-server", "kafka-1:9093", "--command-config", "admin.properties",
                         "--add", "--allow-principal", "User:worker", "--group"]  # fmt: skip
    assert group[9:] == ["shop-winback", "--operation", "Read"]
    changelog = next(words for words in commands if "shop-winback-activity-changelog" in words)
    assert changelog[-6:] == ["--operation", "Read", "--operation", "Write", "--operation", "DescribeConfigs"]


def test_json_lists_one_literal_allow_binding_per_acl():
    document = json.loads(acls_json(worker_acls(SETTINGS), "User:CN=winback,O=shop"))
    assert document["principal"] == "User:CN=winback,O=shop"
    assert len(document["acls"]) == len(worker_acls(SETTINGS))
    for binding in document["acls"]:
        assert binding.keys() == {"resource_type", "resource_name", "operation", "why", "pattern_type", "permission", "host"}
        assert (binding["pattern_type"], binding["permission"], binding["host"]) == ("LITERAL", "ALLOW", "*")
