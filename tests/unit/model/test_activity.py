"""Customer activity state: idempotent, never moves backwards, small when serialized."""

import msgspec

from streams.model.activity import (
    CADENCE_GAPS, MAX_CATEGORIES, NEVER, RECENT_EVENTS, STATE_FORMAT, CustomerActivity, signal_of,
)

from tests.support.builders import DAY, email, login, moment, profile, purchase


def fold(*events) -> CustomerActivity:
    state = CustomerActivity.starting(events[0].occurred_at.timestamp())
    for event in events:
        if not state.seen(event):
            state.record(event, event.occurred_at.timestamp())
    return state


def test_facts_from_each_kind_of_event():
    state = fold(
        purchase(0, amount=20, categories=("shoes", "bags")),
        login(1),
        email(2, "open"),
        email(3, "click"),
        purchase(4, amount=5.5, categories=("bags",)),
        email(5, "delivered"),
    )
    assert (state.first_seen, state.last_purchase, state.last_login) == (moment(0), moment(4), moment(1))
    assert (state.last_open, state.last_click) == (moment(2), moment(3))
    assert (state.purchase_count, state.total_spend) == (2, 25.5)
    assert state.categories == {"shoes": 1, "bags": 2}
    assert state.last_category == "bags"
    assert state.top_categories() == ["bags", "shoes"]
    assert state.gaps == [4 * DAY]


def test_same_event_twice_changes_nothing():
    once = fold(purchase(0), login(1))
    twice = fold(purchase(0), login(1), purchase(0), login(1))
    assert once == twice


def test_dedupe_window_is_the_latest_recent_events():
    state = CustomerActivity.starting(0)
    logins = [login(number, event_id=f"evt-{number}") for number in range(RECENT_EVENTS + 1)]
    assert [state.seen(event) for event in logins] == [False] * len(logins)
    assert state.seen(logins[-1]) and state.seen(logins[1])
    assert not state.seen(logins[0])  # fell out of the window
    assert len(state.recent) == RECENT_EVENTS


def test_older_events_never_move_last_times_backwards():
    state = fold(purchase(10, categories=("bags",)), login(10), email(10, "click"), email(10, "open"))
    late = fold(
        purchase(10, categories=("bags",)), login(10), email(10, "click"), email(10, "open"),
        purchase(3, categories=("shoes",)), login(2), email(1, "click"), email(1, "open"),
    )  # fmt: skip
    assert (late.last_purchase, late.last_login, late.last_click, late.last_open) == (
        state.last_purchase, state.last_login, state.last_click, state.last_open,
    )  # fmt: skip
    assert late.last_category == "bags"
    assert late.first_seen == moment(1)
    assert late.gaps == []  # a late purchase does not split a counted gap
    assert late.purchase_count == 2


def test_cadence_is_the_median_of_the_latest_gaps():
    assert fold(purchase(0), purchase(10)).cadence() is None  # one gap is not a rhythm
    assert fold(purchase(0), purchase(10), purchase(14)).cadence() == 7 * DAY
    days = [0, 10, 20, 21, 31, 41, 141]  # one odd 100-day gap, and the oldest gaps age out
    state = fold(*(purchase(day) for day in days))
    assert len(state.gaps) == CADENCE_GAPS
    assert state.cadence() == 10 * DAY


def test_categories_stay_bounded():
    state = fold(*(purchase(day, categories=(f"cat{day}", "shoes")) for day in range(MAX_CATEGORIES * 2)))
    assert len(state.categories) == MAX_CATEGORIES
    assert state.top_categories()[0] == "shoes"


def test_opt_outs_and_bounces_are_per_channel():
    state = fold(email(0, "unsubscribe"), email(1, "bounce"))
    assert state.channels(state.unsubscribed) == ["email"]
    assert state.channels(state.bounced) == ["email"]
    assert fold(email(0, "complaint")).channels(fold(email(0, "complaint")).unsubscribed) == ["email"]


def test_the_newest_profile_wins_and_of_two_at_the_same_time_the_later():
    state = CustomerActivity.starting(moment(0))
    for event in (profile(1, time_zone="Asia/Kolkata", consent=("email",)), profile(1, time_zone="Europe/London", consent=()),
                  profile(0, time_zone="America/Los_Angeles")):
        state.record(event, event.occurred_at.timestamp())  # profiles are not deduped by id (the engine's rule)
    assert (state.time_zone, state.consent, state.profile_at) == ("Europe/London", 0, moment(1))


def test_signals():
    assert [signal_of(event) for event in (purchase(0), login(0), email(0, "open"), email(0, "click"))] == [
        "purchase", "login", "email_open", "email_click",
    ]  # fmt: skip
    assert signal_of(email(0, "delivered")) is None


def test_serialized_state_round_trips_and_is_small():
    busy = fold(
        *(purchase(day, amount=123.45, categories=("knitwear", "accessories")) for day in range(0, 200, 9)),
        *(login(day) for day in range(1, 200, 3)),
        email(199, "click"),
        email(199, "open"),
        email(199, "unsubscribe"),
        purchase(200, categories=tuple(f"category-{n}" for n in range(MAX_CATEGORIES))),
    )
    raw = busy.encode()
    assert CustomerActivity.decode(raw) == busy
    assert len(raw) <= 300


def test_a_state_stored_when_never_was_zero_reads_as_never():
    """Format 0 (before history from 1970 was accepted) wrote 0.0 for "never"; decoding upgrades it."""
    old = msgspec.structs.replace(CustomerActivity.starting(moment(0)), last_login=0.0, profile_at=0.0, touch_at=0.0, format=0)
    old.last_purchase = moment(0)
    upgraded = CustomerActivity.decode(old.encode())
    assert (upgraded.last_login, upgraded.profile_at, upgraded.touch_at, upgraded.last_purchase) == (NEVER, NEVER, NEVER, moment(0))
    assert upgraded.format == STATE_FORMAT
    marker = msgspec.structs.replace(CustomerActivity.erased(moment(3), {}), first_seen=0.0, format=0)
    assert CustomerActivity.decode(marker.encode()).is_erased()


def test_an_event_at_the_epoch_itself_is_a_time_not_never():
    state = CustomerActivity.starting(0.0)
    state.record(login(0), 0.0)
    assert state.last_login == 0.0 != NEVER
    assert CustomerActivity.decode(state.encode()).last_login == 0.0  # and stays one when stored


def test_the_first_purchase_is_kept_and_a_late_earlier_one_moves_it_back():
    state = fold(login(0), purchase(3, event_id="p3"), purchase(9, event_id="p9"))
    assert state.first_purchase == state.bought_first() == moment(3)
    state.record(purchase(1, event_id="p1"), moment(1))
    assert state.first_purchase == moment(1) and state.last_purchase == moment(9)
    assert fold(login(0)).bought_first() == NEVER


def test_a_state_stored_without_the_first_purchase_takes_its_first_event_for_it():
    stored = fold(purchase(2, event_id="p2"), purchase(5, event_id="p5"))
    fields = msgspec.msgpack.decode(stored.encode())
    appended = CustomerActivity.__struct_fields__.index("first_purchase")
    old = CustomerActivity.decode(msgspec.msgpack.encode(fields[:appended]))  # written before the field was appended
    assert old.first_purchase == NEVER and old.bought_first() == moment(2)
    old.record(purchase(8, event_id="p8"), moment(8))
    assert old.first_purchase == moment(2)
