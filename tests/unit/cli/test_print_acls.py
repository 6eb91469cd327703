"""``winback topics ensure --print-acls``: the worker's ACLs for an operator, without a broker."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result

from streams.admin.acls import worker_acls
from streams.cli import main
from streams.runtime.settings import Settings

NO_BROKER = {"WINBACK_BROKER": "no-such-host.invalid:9092", "WINBACK_BROKER_TIMEOUT": "0.1"}


def invoke(*args: str, **env: str) -> Result:
    return CliRunner().invoke(main, ["topics", "ensure", "--print-acls", *args], env={**NO_BROKER, **env})


def test_prints_kafka_acls_commands_without_connecting():
    result = invoke("--principal", "User:worker", WINBACK_APP_ID="shop")

    assert result.exit_code == 0, result.output
    commands = [line for line in result.stdout.splitlines() if line.startswith("kafka-acls.sh")]
    assert len(commands) == len({(acl.resource_type, acl.resource_name) for acl in worker_acls(Settings(app_id="shop"))})
    assert all("--bootstrap-server no-such-host.invalid:9092" in line for line in commands)
    assert commands[-1].endswith("--allow-principal User:worker --group shop --operation Read")


def test_prints_json_bindings():
    result = invoke("--principal", "User:worker", "--format", "json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["acls"][-1]["resource_type"] == "GROUP"


def test_a_principal_is_needed_in_type_name_form():
    assert invoke().stderr == "winback: --print-acls needs --principal User:NAME (the worker's Kafka principal) without WINBACK_SASL_USERNAME\n"
    result = invoke("--principal", "worker")
    assert (result.exit_code, result.stderr) == (2, "winback: --principal 'worker': give it as TYPE:NAME, e.g. User:winback\n")


def test_the_principal_is_the_sasl_user_unless_given():
    sasl = {"WINBACK_SECURITY_PROTOCOL": "SASL_SSL", "WINBACK_SASL_MECHANISM": "SCRAM-SHA-512"}
    sasl |= {"WINBACK_SASL_USERNAME": "winback-prod", "WINBACK_SASL_PASSWORD": "s3cret-pw"}

    result = invoke(**sasl)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith("--allow-principal User:winback-prod --group winback --operation Read")
    assert "s3cret-pw" not in result.output


def test_acl_options_without_print_acls_are_refused_before_any_connection():
    result = CliRunner().invoke(main, ["topics", "ensure", "--format", "json"], env=NO_BROKER)

    assert (result.exit_code, result.stderr) == (2, "winback: --principal and --format go with --print-acls\n")


def test_the_policys_own_channels_are_granted_and_a_bad_policy_is_one_line_each(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "stages: {reactivation: 30}\n"
        "channels: {custom: {catalog: {kind: direct_mail, topic: shop.print}}}\n"
        "campaigns: {reactivation: {steps: [{after_days: 0, channel: catalog, template: a}]}}\n"
    )
    granted = invoke("--principal", "User:worker", "--format", "json", WINBACK_POLICY=str(policy))
    assert granted.exit_code == 0, granted.output
    assert {"resource_name": "shop.print", "operation": "WRITE"}.items() <= next(
        acl for acl in json.loads(granted.stdout)["acls"] if acl["resource_name"] == "shop.print"
    ).items()

    policy.write_text(policy.read_text().replace("topic: shop.print", "topic: 'shop print'"))
    refused = invoke("--principal", "User:worker", WINBACK_POLICY=str(policy))
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"winback: WINBACK_POLICY: {policy}: channels.custom.catalog.topic: shop print is not a Kafka topic name "
        "(letters, digits, '.', '_', '-'; at most 249) (line 2)\n"
    )
