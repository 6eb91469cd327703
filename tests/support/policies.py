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
# A predictive trigger (P(alive) brings win-back forward, so an active customer's next entry moves
# with each purchase), habitual send times for one A/B variant, value tiers and a holdout.
PREDICTIVE = policy(
    """
stages: {reactivation: 8, winback: 20, sunset: 50}
predictive: {model: {r: 1.2, alpha: 4, a: 0.8, b: 1.6}, enter_winback_below: 0.5}
send_time: {mode: fixed, min_observations: 2, fallback_hour: 10, max_delay_hours: 30}
quiet_hours: {start: "22:00", end: "07:00", default_time_zone: Asia/Kolkata, channels: [sms]}
tiers: [{name: gold, min_spend: 40, min_purchases: 3}, {name: bronze}]
campaigns:
  reactivation:
    variants: {habitual: 1, planned: 1}
    send_time: habitual
    send_time_by_variant: {planned: fixed}
    steps:
      - {after_days: 0, channel: email, template: a}
      - {after_days: 1.5, channel: sms, template: b, expires_after_days: 0.5}
  winback:
    holdout: 0.3
    steps:
      - {after_days: 0, channel: email, template: c, offers_by_tier: {gold: {percent_off: 20}}}
      - {after_days: 3, channel: push, template: d}
"""
)
