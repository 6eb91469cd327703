"""Held events come out in (time, event id) order, only once event time has reached them."""

from streams.runtime.reorder import ReorderBuffer


def test_release_in_time_then_id_order_up_to_the_watermark():
    buffer: ReorderBuffer[str] = ReorderBuffer()
    buffer.hold(0, 50.0, "b", "login@50")
    buffer.hold(0, 5.0, "z", "purchase@5")
    buffer.hold(0, 50.0, "a", "click@50")
    buffer.hold(1, 1.0, "x", "other partition")
    assert buffer.release(0, 49.0) == ["purchase@5"]
    assert buffer.release(0, 50.0) == ["click@50", "login@50"]
    assert len(buffer) == 1


def test_forgetting_every_held_event():
    buffer: ReorderBuffer[str] = ReorderBuffer()
    buffer.hold(0, 1.0, "a", "first")
    buffer.hold(1, 1.0, "b", "second")
    buffer.forget()
    assert len(buffer) == 0 and buffer.release(1, 10.0) == [] and buffer.release(0, 10.0) == []
    buffer.hold(0, 2.0, "c", "after")
    assert buffer.release(0, 10.0) == ["after"]
