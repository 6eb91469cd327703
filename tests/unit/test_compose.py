"""docker-compose.yml must speak the worker's language: every WINBACK_* variable is a real setting."""

from pathlib import Path

import yaml

from streams.settings import Settings

ROOT = Path(__file__).parents[2]
KNOWN = {name for name, _, _ in Settings.documented()}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_winback_variable_is_a_setting():
    services = compose()["services"]
    used = {
        name
        for service in services.values()
        for name in (service.get("environment") or {})
        if name.startswith("WINBACK_")
    }
    assert used, "the workers are configured through WINBACK_* variables"
    assert used <= KNOWN, f"unknown settings in docker-compose.yml: {sorted(used - KNOWN)}"


def test_workers_publish_the_settings_web_port():
    services = compose()["services"]
    for name in ("worker-1", "worker-2"):
        environment = services[name]["environment"]
        assert any(port.endswith(f":{environment['WINBACK_WEB_PORT']}") for port in services[name]["ports"])
        assert Settings(**{"web_port": environment["WINBACK_WEB_PORT"]}).web_port == 6066


def test_commands_exist_in_the_cli():
    from streams.cli import main

    for service in compose()["services"].values():
        command = service.get("command")
        if command and service.get("build"):
            assert command[0] in main.commands, command
