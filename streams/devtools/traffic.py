"""Realistic shop traffic, for the demo, the benchmarks and the tests.

Customers follow personas that a marketer would recognise: loyal regulars with a short
purchase cadence, occasional buyers, one-off buyers and customers who churn part-way through
the period (they stop buying, log in less and stop opening mail).  The mix produces every
lifecycle stage the engine knows.  Generation is seeded, so a log can be regenerated exactly.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import count, islice
from pathlib import Path
from typing import IO, Iterable, Iterator

import msgspec

from streams.model.events import AnyInput, Channel, EmailAction, EmailEngagement, Login, Profile, Purchase

DAY = 86400.0
CATEGORIES = (
    "shoes", "bags", "dresses", "jackets", "knitwear", "jeans", "accessories", "beauty",
    "home", "kids", "sportswear", "jewellery",
)  # fmt: skip
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")
PLATFORMS = ("web", "ios", "android")
# (time zone, locale) of customers with a profile; the rest have none, as in shops whose CRM
# only knows part of the base.
HOMES = (
    ("Europe/Berlin", "de-DE"), ("Europe/London", "en-GB"), ("America/New_York", "en-US"),
    ("America/Los_Angeles", "en-US"), ("Asia/Tokyo", "ja-JP"), ("Australia/Sydney", "en-AU"),
)  # fmt: skip
PROFILE_SHARE = 0.7


@dataclass(frozen=True)
class Persona:
    """How one kind of customer behaves: mean days between orders, basket, engagement."""

    name: str
    share: float
    cadence_days: float
    mean_basket: float
    logins_per_order: float
    open_rate: float
    click_rate: float
    churn_probability: float  # chance the customer stops buying at a random point


PERSONAS = (
    Persona("loyal", 0.2, 18, 65, 3, 0.5, 0.15, 0.1),
    Persona("occasional", 0.35, 60, 80, 1.5, 0.3, 0.07, 0.35),
    Persona("one-off", 0.25, 400, 45, 0.5, 0.15, 0.03, 0.8),
    Persona("lapsing", 0.2, 30, 55, 2, 0.35, 0.1, 1.0),
)


def generate_history(
    customers: int, days: int, seed: int = 7, start: datetime | None = None, *, exact_count: bool = False
) -> list[AnyInput]:
    """The events of ``customers`` simulated customers over ``days`` days from ``start``, in time
    order, with a profile (channels, consent, time zone) for most of them when they are first seen.

    A customer whose first event would come after the period (a one-off buyer, often) has none,
    so the history names somewhat fewer customers (929 of 1,000 over a year with seed 7).  With
    ``exact_count`` such customers are skipped and more are simulated until ``customers`` have
    events: the same history with the extra customers added.  Without it, a seed's history is
    what it always was (tests and benchmarks depend on that).
    """
    if exact_count and days <= 0:
        raise ValueError("no customer has an event in a period of no days: give days >= 1")
    lives = _lives(days, seed, start or datetime(2024, 1, 1, tzinfo=timezone.utc))
    if exact_count:
        lives = filter(None, lives)
    return _in_time_order(islice(lives, customers))


def _lives(days: int, seed: int, start: datetime) -> Iterator[list[tuple[float, AnyInput]]]:
    """Each simulated customer's (time, event) pairs, their profile last, one customer after another, endlessly."""
    rng = random.Random(seed)
    profiles = random.Random(seed + 1)  # its own stream: profiles do not change the events
    for number in count():
        customer = _Customer(f"cust-{number:07d}", _pick_persona(rng), rng, start.timestamp(), days * DAY)
        lived = customer.events()
        if lived and profiles.random() < PROFILE_SHARE:
            first = min(moment for moment, _ in lived)
            lived.append((first, _profile(customer.customer_id, first, profiles)))
        yield lived


def _in_time_order(lives: Iterable[list[tuple[float, AnyInput]]]) -> list[AnyInput]:
    """Every customer's events in one list, by time (stable: a tie keeps the customers' order)."""
    events = [pair for lived in lives for pair in lived]
    events.sort(key=lambda pair: pair[0])
    return [event for _, event in events]


def demo_history(customers: int, days: int, seed: int = 42) -> list[AnyInput]:
    """The demo's replay: a crowd of ``customers`` distinct customers (``generate_history`` with
    ``exact_count``) joined by a small cast whose stories show every stage, a conversion and a
    skip within the first year, whatever the crowd's size (``_cast`` tells them)."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    crowd = generate_history(customers, days, seed=seed, start=start, exact_count=True)
    return sorted([*crowd, *_cast(start.timestamp())], key=lambda event: event.occurred_at)


# A sparse shop, as real purchase logs look: most customers buy one to five times (weights
# below), a few heavy buyers many times, and long gaps in between.
_SPARSE_ORDERS = ((1, 0.45), (2, 0.25), (3, 0.15), (4, 0.1), (5, 0.05))
_HEAVY_SHARE = 0.03  # heavy buyers: 12-40 orders, about three weeks apart
_SPARSE_GAP_DAYS = 120.0  # mean days between a usual customer's orders
_SUBSCRIBER_SHARE = 0.3  # customers who open (and sometimes click) a few newsletters


def sparse_history(customers: int, days: int = 730, seed: int = 11, start: datetime | None = None) -> list[AnyInput]:
    """A sparse shop's events in time order, like a real purchase log: ``customers`` customers
    (each with at least one order) over ``days`` days, most lapsing after one to five orders.

    Some customers open and click newsletters in between; most have a CRM profile.  Seeded, so
    the log can be regenerated exactly (the backtest's benchmark and golden reports rely on it).
    """
    rng = random.Random(seed)
    origin = (start or datetime(2024, 1, 1, tzinfo=timezone.utc)).timestamp()
    lives = (_sparse_life(f"shop-{number:07d}", rng, origin, days * DAY) for number in range(customers))
    return _in_time_order(lives)


def _sparse_life(customer_id: str, rng: random.Random, start: float, span: float) -> list[tuple[float, AnyInput]]:
    """One sparse-shop customer's (time, event) pairs: orders, newsletter engagement, a profile."""
    heavy = rng.random() < _HEAVY_SHARE
    orders = rng.randint(12, 40) if heavy else rng.choices(*zip(*_SPARSE_ORDERS))[0]
    gap = span / 2 / orders if heavy else _SPARSE_GAP_DAYS * DAY
    lived = _Customer(customer_id, PERSONAS[0], rng, start, span).sparse_events(orders, gap, rng.random() < _SUBSCRIBER_SHARE)
    if rng.random() < PROFILE_SHARE:
        lived.append((lived[0][0], _profile(customer_id, lived[0][0], rng)))
    return lived


def _cast(start: float) -> list[AnyInput]:
    """Three scripted customers, their days counted from ``start``:

    - ``cast-gone`` buys once on day 1 and never comes back: reactivation on day 31, win-back
      on day 91, sunset on day 366 (the bundled thresholds);
    - ``cast-returns`` buys every ten days, stops after day 21 (reactivation on day 51: three
      times the cadence, at least 30 days) and buys again on day 55: a conversion;
    - ``cast-unreachable``'s profile consents to no channel: its messages are skipped.
    """
    def purchase(customer_id: str, day: float) -> Purchase:
        return Purchase(
            event_id=f"evt-{customer_id}-{day:g}", customer_id=customer_id, occurred_at=_at(start + day * DAY),
            order_id=f"order-{customer_id}-{day:g}", amount=60.0, currency="EUR", categories=["shoes"],
        )

    unreachable = Profile(customer_id="cast-unreachable", updated_at=_at(start), reachable=["email"], consent=[])
    return [
        purchase("cast-gone", 1),
        *(purchase("cast-returns", day) for day in (1, 11, 21, 55)),
        unreachable,
        purchase("cast-unreachable", 1),
    ]


_PHONE_AND_APP: tuple[tuple[Channel, float], ...] = (("sms", 0.6), ("push", 0.45))  # reachable shares


def _profile(customer_id: str, moment: float, rng: random.Random) -> Profile:
    """A CRM profile: email nearly always reachable, phone and app less often, consent per channel."""
    reachable: list[Channel] = ["email", *(channel for channel, share in _PHONE_AND_APP if rng.random() < share)]
    consent = [channel for channel in reachable if rng.random() < {"email": 0.9, "sms": 0.5, "push": 0.7}[channel]]
    time_zone, locale = rng.choice(HOMES)
    return Profile(
        customer_id=customer_id,
        updated_at=_at(moment),
        reachable=reachable,
        consent=consent,
        preferred_channel=rng.choice(consent) if consent and rng.random() < 0.3 else None,
        time_zone=time_zone,
        locale=locale,
    )


def _pick_persona(rng: random.Random) -> Persona:
    return rng.choices(PERSONAS, weights=[persona.share for persona in PERSONAS])[0]


class _Customer:
    """Walks one customer's life across the period and emits their events."""

    def __init__(self, customer_id: str, persona: Persona, rng: random.Random, start: float, span: float):
        self.customer_id = customer_id
        self.persona = persona
        self.rng = rng
        self.start = start
        self.end = start + span
        self.currency = rng.choice(CURRENCIES)
        self.favourites = rng.sample(CATEGORIES, 3)
        churns = rng.random() < persona.churn_probability
        self.churn_at = start + rng.random() * span if churns else self.end
        self.counter = 0

    def events(self) -> list[tuple[float, AnyInput]]:
        out: list[tuple[float, AnyInput]] = []
        moment = self.start + self.rng.random() * self.persona.cadence_days * DAY
        while moment < self.end:
            active = moment < self.churn_at
            if active:
                out.append((moment, self._purchase(moment)))
            out.extend(self._between_orders(moment, active))
            moment += self.rng.expovariate(1 / (self.persona.cadence_days * DAY)) + DAY / 4
        return out

    def sparse_events(self, orders: int, mean_gap: float, subscriber: bool) -> list[tuple[float, AnyInput]]:
        """Up to ``orders`` orders from a random start, ``mean_gap`` seconds apart on average,
        then (for a newsletter ``subscriber``) a few opens, some with a click."""
        moment, out = self.start + self.rng.random() * (self.end - self.start) * 0.9, []
        for _ in range(orders):
            out.append((moment, self._purchase(moment)))
            moment += self.rng.expovariate(1 / mean_gap) + DAY
            if moment >= self.end:
                break
        first = out[0][0]
        for _ in range(self._poisson(2) if subscriber else 0):
            opened = first + self.rng.random() * (self.end - first)
            out.append((opened, self._email(opened, "open")))
            if self.rng.random() < 0.3:
                out.append((opened + 60, self._email(opened + 60, "click")))
        return out

    def _between_orders(self, after: float, active: bool) -> list[tuple[float, AnyInput]]:
        """Logins and newsletter engagement until the next order; fading once churned."""
        rate = 1.0 if active else 0.1
        out: list[tuple[float, AnyInput]] = []
        for _ in range(self._poisson(self.persona.logins_per_order * rate)):
            moment = after + self.rng.random() * self.persona.cadence_days * DAY
            if moment < self.end:
                out.append((moment, self._login(moment)))
        if self.rng.random() < 0.9:
            moment = after + self.rng.random() * self.persona.cadence_days * DAY
            if moment < self.end:
                out.extend(self._newsletter(moment, rate))
        return out

    def _newsletter(self, moment: float, rate: float) -> list[tuple[float, AnyInput]]:
        roll = self.rng.random()
        if roll < 0.002:
            return [(moment, self._email(moment, "bounce"))]
        out = [(moment, self._email(moment, "delivered"))]
        if roll < self.persona.open_rate * rate:
            opened = moment + self.rng.random() * DAY
            out.append((opened, self._email(opened, "open")))
            if roll < self.persona.click_rate * rate:
                out.append((opened + 60, self._email(opened + 60, "click")))
            elif self.rng.random() < 0.01:
                out.append((opened + 30, self._email(opened + 30, "unsubscribe")))
        return out

    def _poisson(self, mean: float) -> int:
        count, threshold, product = 0, math.exp(-mean), self.rng.random()
        while product > threshold:
            count += 1
            product *= self.rng.random()
        return count

    def _next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.customer_id}-{self.counter}"

    def _purchase(self, moment: float) -> Purchase:
        amount = round(self.rng.lognormvariate(0, 0.5) * self.persona.mean_basket, 2)
        wanted = self.rng.randint(1, 2)
        categories = self.rng.sample(self.favourites, wanted) if self.rng.random() < 0.8 else [self.rng.choice(CATEGORIES)]
        return Purchase(
            event_id=self._next_id("evt"),
            customer_id=self.customer_id,
            occurred_at=_at(moment),
            order_id=self._next_id("order"),
            amount=amount,
            currency=self.currency,
            categories=categories,
        )

    def _login(self, moment: float) -> Login:
        return Login(
            event_id=self._next_id("evt"),
            customer_id=self.customer_id,
            occurred_at=_at(moment),
            platform=self.rng.choice(PLATFORMS),
        )

    def _email(self, moment: float, action: EmailAction) -> EmailEngagement:
        return EmailEngagement(
            event_id=self._next_id("evt"),
            customer_id=self.customer_id,
            occurred_at=_at(moment),
            action=action,
            campaign_id="newsletter",
        )


def _at(moment: float) -> datetime:
    return datetime.fromtimestamp(round(moment), tz=timezone.utc)


def write_jsonl(events: Iterable[AnyInput], path: Path) -> int:
    """Write events as JSON lines with their ``type`` (gzip when the name ends in .gz).

    A write that fails once the file is open (a full disk) removes the regular file it began:
    what was written would pass for a shorter history.
    """
    encoder = msgspec.json.Encoder()
    count = 0
    with _open_for_writing(path) as out:
        try:
            for event in events:
                out.write(encoder.encode(event) + b"\n")
                count += 1
            out.flush()
        except OSError:
            if path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
    return count


def _open_for_writing(path: Path) -> IO[bytes]:
    return gzip.open(path, "wb", compresslevel=3) if path.suffix == ".gz" else open(path, "wb")


def malformed_records(rng: random.Random) -> bytes:
    """One record of the kind real pipelines receive by mistake (the demo mixes a few in)."""
    return rng.choice(
        [
            b'{"event_id": "x", "customer_id": "cust-0000001"',
            b'{"event_id":"x","customer_id":"cust-0000001","occurred_at":"2024-05-01 10:00:00",'
            b'"order_id":"o","amount":10,"currency":"EUR"}',
            b'{"event_id":"x","customer_id":"cust-0000001","occurred_at":"2024-05-01T10:00:00Z",'
            b'"order_id":"o","amount":-5,"currency":"EUR"}',
            b"not json at all",
        ]
    )


