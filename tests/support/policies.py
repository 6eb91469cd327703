"""The policies the engine's unit and property tests run: small thresholds, in days.

``SMALL`` is YAML text (tests vary it); the others are parsed.
"""

from __future__ import annotations

from tests.support.builders import policy

SMALL = """
stages: {reactivation: 5, winback: 15, sunset: 40}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: miss-you}
      - {after_days: 3, channel: push, template: new-in}
  winback:
    expires_after_days: 2
    steps:
      - {after_days: 0, channel: email, template: offer, offer: {percent_off: 20}}
      - {after_days: 4, channel: sms, template: reminder, expires_after_days: 1}
"""

ADAPTIVE = policy(
    """
activity: {signals: [purchase, login, email_open]}
stages:
  reactivation: {min_days: 4, cadence_multiplier: 2, max_days: 20}
  winback: {min_days: 12, cadence_multiplier: 3}
  sunset: 45
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: a}, {after_days: 2, channel: push, template: b}]
  winback:
    steps:
      - {after_days: 0, channel: email, template: c}
      - {after_days: 5, channel: sms, template: d}
      - {after_days: 9, channel: email, template: e}
"""
)
# Thresholds that collide (stage entries at the same moment, steps due as the next stage starts),
# and purchases that do not count as activity but still change the cadence.
TIGHT = policy(
    """
activity: {signals: [login, email_click]}
stages:
  reactivation: {min_days: 2, cadence_multiplier: 1}
  winback: {min_days: 3, cadence_multiplier: 1}
  sunset: 6
campaigns:
  reactivation:
    steps: [{after_days: 0, channel: email, template: a}, {after_days: 1, channel: push, template: b}]
  winback:
    steps: [{after_days: 0, channel: email, template: c}, {after_days: 1, channel: sms, template: d}]
"""
)
POLICIES = [policy(SMALL), ADAPTIVE, TIGHT]

CONTROLLED = policy(
    """
stages: {reactivation: 3, winback: 9}
caps:
  limits: [{messages: 2, per_days: 2}, {messages: 1, per_days: 1.5, channel: sms}]
quiet_hours: {start: "19:00", end: "09:30", default_time_zone: America/New_York}
channels: {fallback: [push, sms, email]}
campaigns:
  reactivation:
    expires_after_days: 4
    caps: [{messages: 2, per_days: 3}]
    steps:
      - {after_days: 0, channel: email, template: a}
      - {after_days: 0.25, channel: sms, template: b}
      - {after_days: 0.5, channel: push, template: c}
      - {after_days: 1, channel: email, template: d}
  winback:
    holdout: 0.2
    steps:
      - {after_days: 0, channel: sms, template: e}
      - {after_days: 0.1, channel: sms, template: f}
      - {after_days: 2, channel: email, template: g}
"""
)
