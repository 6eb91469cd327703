"""What the README and docs/ name exists: every setting is in the README's settings table with its
real default, and every test docs/guarantees.md cites as a promise's evidence is there (its file,
and its function when named), so a renamed test or setting cannot leave the docs pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

from streams.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name: default for name, default, _ in Settings.documented()}


def settings_table() -> list[tuple[list[str], list[str]]]:
    """(variables, defaults) of each row of the README's settings table; a name written as a
    suffix (``_LOGINS`` after ``WINBACK_TOPIC_PURCHASES``) is the setting it abbreviates."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |") : readme.index("## Connect to your cluster")]
    rows = []
    for row in table.splitlines()[2:]:
        if not row.startswith("|"):
            break
        variables, defaults, meaning = row.strip("| ").split(" | ", 2)
        rows.append((expanded(re.findall(r"`((?:WINBACK)?_[A-Z_]+)`", variables)), defaults.split(" / ")))
        rows.append((expanded(re.findall(r"`((?:WINBACK)?_[A-Z_]+)`", meaning)), []))  # named in passing, default not given
    return rows


def expanded(names: list[str]) -> list[str]:
    """``_PASSWORD_FILE`` after ``WINBACK_SASL_PASSWORD`` is WINBACK_SASL_PASSWORD_FILE: the previous
    name with its last words replaced, the fewest that make a setting."""
    full: list[str] = []
    for name in names:
        if name.startswith("_") and full:
            words = full[-1].split("_")
            candidates = ("_".join(words[:cut]) + name for cut in range(len(words) - 1, 0, -1))
            name = next((candidate for candidate in candidates if candidate in SETTINGS), name)
        full.append(name)
    return full


def shown(default: str) -> str:
    """A default as the table writes it: ``false``, ``3600`` for 3600.0 where it says so."""
    return default.lower() if default in ("True", "False") else default


def test_the_readme_s_settings_table_names_every_setting_and_only_settings() -> None:
    named = {name for variables, _ in settings_table() for name in variables}
    assert named - SETTINGS.keys() == set()
    assert SETTINGS.keys() - named == set()


def test_the_readme_s_settings_table_gives_each_setting_its_real_default() -> None:
    wrong = []
    for variables, defaults in settings_table():
        if len(defaults) != len(variables):
            continue  # one default for several (`winback.commands.*`), or none given
        for variable, written in zip(variables, defaults):
            value = written.strip("` ")
            if written.startswith("`") and value not in (shown(SETTINGS[variable]), shown(SETTINGS[variable]).removesuffix(".0")):
                wrong.append(f"{variable}: README {value}, code {SETTINGS[variable]}")
    assert wrong == []


def test_every_test_docs_guarantees_md_cites_exists() -> None:
    guarantees = (ROOT / "docs/guarantees.md").read_text()
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", guarantees)
    missing = [
        f"{path}::{function}" if function else path
        for path, function in cited
        if not (ROOT / path).is_file() or (function and not re.search(rf"^\s*(async )?def {function}\(", (ROOT / path).read_text(), re.M))
    ]
    assert cited
    assert missing == []
