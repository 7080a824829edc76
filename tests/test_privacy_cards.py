"""Card numbers found wherever they start in a run of numbers, and MAC addresses found before the
host-name rule can take their first octet (the leaks of docs/privacy.md's numbers and macs rules)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optel.privacy import scrub_attributes, scrub_text
from optel.privacy.numbers import luhn_valid
from privacy_strategies import MAC, NUMBER, Injection, assert_scrubbed, host_names

CARD = "3834441747661439"  # the planted value of the leak, Luhn-valid
AMEX = "378282246310005"
# What may come right before a card in a message: a port, a year, a phone number, a count.
LEADS = ("qbox3:8080 ", "port 8080 ", "in 2024 ", "+44 20 7946 ", "+12 345 6789 ", "retry 42 ")
# The same, where no 6-character window of a random card can match the lead's digits by chance.
WINDOW_SAFE_LEADS = ("qbox3:8080 ", "port=8080 ", "year:2024 ", "+44 20 7946 ", "retry 42 ")
TAILS = ("", " 42 tries", " 1.2.3", ", 2024", "\tdone")


def _written(number: str, separator: str, sizes: tuple[int, ...]) -> str:
    groups, start = [], 0
    for size in sizes:
        groups.append(number[start : start + size])
        start += size
    return separator.join(group for group in groups if group)


def test_the_planted_values_are_cards() -> None:
    assert luhn_valid(CARD) and luhn_valid(AMEX)


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("tail", TAILS)
@pytest.mark.parametrize("separator", [" ", "-", ""])
def test_a_card_after_another_number_is_scrubbed(lead: str, tail: str, separator: str) -> None:
    written = _written(CARD, separator, (4, 4, 4, 4))
    out = scrub_text(lead + written + tail)
    assert NUMBER in out
    for group in (written, CARD, *written.split(separator or None)):
        assert group not in out, out


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize("sizes", [(4, 6, 5), (4, 4, 4, 3)])
def test_an_amex_after_another_number_is_scrubbed(lead: str, sizes: tuple[int, ...]) -> None:
    written = _written(AMEX, " ", sizes)
    out = scrub_text(lead + written + " ok")
    assert all(group not in out for group in written.split()), out


def test_the_leaked_message_comes_out_without_the_card() -> None:
    # The shape of the leak: a message ending in a machine's name and port, then the argument.
    text = "failed to run qbox3:8080 3834 4417 4766 1439"
    assert scrub_text(text) == "failed to run qbox3:8080 <number>"
    assert scrub_text("call +49 30 1234567 3834 4417 4766 1439") == "call <number> <number>"


def test_numbers_around_a_card_that_are_no_card_stay() -> None:
    assert scrub_text("port 8080 and 2024 1234 5678") == "port 8080 and 2024 1234 5678"


MAC_TEXTS = ("a4:5e:60:d2:1f:0b", "A4:5E:60:D2:1F:0B", "a4-5e-60-d2-1f-0b", "A4-5E-60-D2-1F-0B")
SSH = "ssh: Could not resolve hostname abcd12: Name or service not known"


@pytest.mark.parametrize("mac", MAC_TEXTS)
@pytest.mark.parametrize("separator", [": ", " ", "\n", ", "])
def test_a_mac_after_an_ssh_error_is_a_mac_not_a_host(mac: str, separator: str) -> None:
    text = SSH + separator + mac
    for out in (scrub_text(text), scrub_attributes({"command.name": text})["command.name"]):
        assert out.endswith(separator + MAC), out
        assert "d2" not in out.lower()


@st.composite
def cards_after_numbers(draw: st.DrawFn) -> tuple[str, Injection]:
    """A Luhn-valid card of 13-19 digits, in any grouping a card is written in, after a number."""
    length = draw(st.sampled_from((13, 14, 15, 16, 17, 18, 19)))
    # Random digits, not shrinkable ones: "0000 0000 ..." is no card anyone has.
    rnd = draw(st.randoms(use_true_random=False))
    body = "".join(rnd.choice("0123456789") for _ in range(length - 1))
    number = next(body + c for c in "0123456789" if luhn_valid(body + c))
    separator = draw(st.sampled_from(("", " ", "-")))
    sizes = (4, 6, 5) if length == 15 and draw(st.booleans()) else (4,) * 5
    written = _written(number, separator, sizes)
    lead = draw(st.sampled_from(("", *WINDOW_SAFE_LEADS)))
    tail = draw(st.sampled_from(TAILS))
    injection = Injection(written, (NUMBER,), vanish=(written, number), windows=(number, written))
    return lead + written + tail, injection


@settings(max_examples=300, deadline=None)
@given(cards_after_numbers())
def test_no_card_survives_after_another_number(sample: tuple[str, Injection]) -> None:
    text, injection = sample
    assert_scrubbed(scrub_text(text), [injection])


@settings(max_examples=200, deadline=None)
@given(host_names(), st.sampled_from((": ", " ", "\n")), st.sampled_from(MAC_TEXTS))
def test_no_mac_survives_after_a_host_message(host: Injection, separator: str, mac: str) -> None:
    octets = mac.lower().replace("-", ":").split(":")
    planted = Injection(mac, (MAC,), vanish=(mac, ":".join(octets[3:]), "-".join(octets[3:])))
    assert_scrubbed(scrub_text(host.text + separator + mac), [host, planted])
