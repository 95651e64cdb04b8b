"""The hold on sending while no subscriber hears the unit (edge.uplink.audience), on a clock the
test moves: a hold starts with the first message unheard, lets nothing out while it lasts, then
one probe; an unheard probe doubles the wait up to its longest; the first message heard ends it."""

from __future__ import annotations

from edge.uplink.audience import Audience


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_window_is_open_until_a_message_comes_back_unheard() -> None:
    audience = Audience(1.0, 8.0, Clock())
    assert audience.listening and audience.room(32) == 32


def test_a_hold_lets_nothing_out_then_one_probe() -> None:
    clock = Clock()
    audience = Audience(1.0, 8.0, clock)
    audience.unheard("read r1")
    assert not audience.listening and audience.room(32) == 0
    audience.unheard("read r2")  # the rest of the window coming back: still the first wait
    clock.now += 0.99
    assert audience.room(32) == 0
    clock.now += 0.02
    assert audience.room(32) == 1
    assert (audience.unheard_total, audience.unheard_now) == (2, 2)


def test_each_unheard_probe_doubles_the_wait_up_to_the_longest() -> None:
    clock = Clock()
    audience = Audience(1.0, 8.0, clock)
    audience.unheard("read r1")
    waits = []
    for _ in range(6):
        start = clock.now
        while audience.room(32) == 0:
            clock.now += 0.25
        waits.append(clock.now - start)
        audience.unheard("probe")
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_the_first_message_heard_ends_the_hold_and_the_waits_start_again(caplog) -> None:
    clock = Clock()
    audience = Audience(1.0, 8.0, clock)
    for _ in range(3):
        clock.now += 10
        audience.unheard("probe")
    audience.heard()
    assert audience.listening and audience.room(32) == 32
    assert (audience.unheard_total, audience.unheard_now) == (3, 0)
    assert "3 messages came back unheard" in caplog.text
    audience.unheard("read r9")
    clock.now += 1.0
    assert audience.room(32) == 1  # the first wait again, not the longest


def test_a_retry_asked_for_probes_at_once() -> None:
    clock = Clock()
    audience = Audience(1.0, 8.0, clock)
    audience.unheard("read r1")
    audience.probe_now()
    assert audience.room(32) == 1 and not audience.listening
