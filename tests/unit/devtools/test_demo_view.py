"""The demo's live view fits an 80x24 terminal with every section whole, and uses a taller one.

Rendered with rich's own recording console, from a demo two minutes in: more skip reasons,
commands and dead letters than 24 rows can list, so the sections must fit what they show.
"""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone

from rich.console import Console

from streams.model.records import MessageCommand, Offer, Personalisation
from streams.devtools.demo import DemoConfig
from streams.devtools.demo_view import render
from streams.devtools.demo_watch import Observed

SECTIONS = ("winback demo", "Funnel by stage", "Commands", "Skips, by reason", "Latest commands", "Conversions", "Dead letters")
JANUARY = datetime(2024, 1, 1, tzinfo=timezone.utc)
CONFIG = DemoConfig(customers=500, days=730, rate=300.0)  # 36,716 events: about six days a second


def two_minutes_in() -> Observed:
    """A busy demo: every stage, channel, kind of skip, conversions and dead letters."""
    observed = Observed(started=time.monotonic() - 125, total=36_716, sent=36_000)
    observed.sent_up_to, observed.decided_up_to = JANUARY + timedelta(days=700), JANUARY + timedelta(days=698)
    for number, stage in enumerate([0] * 300 + [1] * 120 + [2] * 60 + [3] * 20):
        observed.stage_of[f"cust-{number:07d}".encode()] = stage
    observed.triggers.update(reactivation=1_234, winback=321, sunset=20)
    observed.commands.update(email=2_345, sms=234, push=56)
    skips = {
        ("holdout", "held_out"): 191, ("no_consent", "fallback"): 140, ("quiet_hours", "deferred"): 130,
        ("no_channel", "skipped"): 62, ("capped", "deferred"): 35, ("sunset", "skipped"): 13,
        ("expired", "skipped"): 12, ("capped", "skipped"): 1,
    }
    observed.skips.update(skips)
    observed.conversions.update({("reactivation", False): 31, ("reactivation", True): 3, ("winback", False): 4})
    observed.revenue.update(reactivation=2_345.5, winback=300.0)
    observed.dead_letters.update(malformed_json=80, invalid_timestamp=40, invalid_value=20)
    for number in range(60):
        observed.latest_dead_letters.append(f"JSON is malformed: invalid character (byte {number})")
        observed.latest_commands.append(_command(number))
    return observed


def _command(number: int) -> MessageCommand:
    due = JANUARY + timedelta(days=number)
    return MessageCommand(
        command_id=f"command-{number}", customer_id=f"cust-{number:07d}", channel="email", campaign="winback",
        stage="winback", step=0, episode=1, template="winback-offer", offer=Offer(percent_off=10),
        personalisation=Personalisation(days_inactive=90, purchase_count=3, total_spend=180.0),
        due_at=due, send_after=due, expires_at=due + timedelta(days=3),
    )


def screen(observed: Observed, width: int, height: int) -> list[str]:
    console = Console(width=width, height=height, record=True, color_system=None, file=io.StringIO())
    console.print(render(observed, CONFIG))
    return console.export_text().splitlines()


def test_every_section_fits_80_by_24_whole():
    lines = screen(two_minutes_in(), 80, 24)
    text = "\n".join(lines)
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    for title in SECTIONS:
        assert title in text, f"{title!r} is not on the screen"
    assert lines[-1].startswith("╰") and lines[-1].endswith("╯"), "the bottom sections are cut"
    shown = ("sunset", "push", "no_channel", "winback", "cust-0000059", "invalid_value", "Ctrl-C", "1 s ≈ 6.0 days")
    for item in shown:
        assert item in text, f"{item!r} is not on the screen"


def test_a_list_longer_than_its_section_says_how_much_it_left_out():
    observed = two_minutes_in()
    observed.skips.update({(f"reason-{number}", "skipped"): 1 for number in range(4)})  # twelve kinds in all
    text = "\n".join(screen(observed, 80, 24))
    assert "+3 more" in text  # room for nine and the note
    assert "holdout" in text and "capped" in text  # the most frequent are kept


def test_a_taller_terminal_shows_more_commands_and_dead_letters():
    short, tall = screen(two_minutes_in(), 80, 24), screen(two_minutes_in(), 80, 40)
    for marker in ("winback-offer", "JSON is malformed"):
        assert sum(marker in line for line in tall) > sum(marker in line for line in short) + 3


def test_the_policys_own_channels_are_listed_beside_the_built_in_ones():
    observed = two_minutes_in()
    observed.channels = ("email", "sms", "push", "app_inbox")
    observed.commands.update(app_inbox=1_234)
    lines = screen(observed, 80, 24)
    commands = [line.split("│")[3].strip() for line in lines[5:10]]  # the middle's second section, whole
    assert commands == ["email     2,345", "sms         234", "push         56", "app_inbox 1,234", ""]
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    conversions = [" ".join(line.split("│")[5].split()) for line in lines[5:8]]  # beside it, still whole
    assert conversions == ["campaign treated holdout", "reactivation 31 3", "winback 4 0"]


def test_a_channel_without_commands_yet_is_listed_with_none():
    observed = Observed(channels=("email", "sms", "push", "app_inbox"))
    assert "app_inbox 0" in " ".join(" ".join(screen(observed, 80, 24)).split())
