"""Numbers that name a person or a device: payment card numbers (Luhn-valid, 13-19 digits), US social
security numbers, phone numbers in international (``+49 30 1234567``) or North American
(``(555) 123-4567``, ``555-123-4567``) form -> ``<number>``; MAC addresses -> ``<mac>``.

Other national ids (each country writes its own) and phone numbers written as a bare run of digits
are not recognised: a bare run is as likely a timestamp, an order number or a request id. The one
exception is a run that passes the Luhn check with a card's length, which is scrubbed even when it
was no card (a 19-digit nanosecond timestamp in a message does, one time in ten).
"""

from __future__ import annotations

from optel.privacy.fastpath import hex_between
from optel.privacy.table import MAC, NUMBER

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

# The least digit run any rule of this module needs (spaces, dashes, dots, a phone number's "+" and
# "()" ignored); the fast path sends on a run of fastpath.MIN_DIGITS.
_MIN_ANY = 8
_DIGITS = bytes(48 if 48 <= i <= 57 else 120 for i in range(256))  # digits -> "0", the rest -> "x"

_SOURCES = {
    # Not inside a longer run of hex groups (an IPv6 address): no hex group joined on either side.
    "mac": r"(?i)(?<![\w.-])(?<![0-9a-f]:)[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![\w-]|:[0-9a-f])",
    # A run of 13-19 digits, or groups of four (Amex: 4-6-5) with one separator throughout.
    "card": r"(?<![\w.+-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})"
    r"(?![\w-]|\.\d)",
    "ssn": r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w-]|\.\d)",
    # +49 30 1234567, +1 (555) 123-4567, +4930123456: a separator between groups (parentheses
    # only around the first),
    # so that digits run on after the number ("+49 30 1234567 2024") are not taken into it.
    "phone": r"(?<![\w+])\+(?:\d{8,15}|\d{1,3}(?:[ .-]?\(\d{1,5}\)[ .-]?\d{1,8})?(?:[ .-]\d{1,8}){1,6})"
    r"(?![\w-]|\.\d)"
    r"|(?:(?<!\w)\(\d{3}\)\s?|(?<![\w.-])\d{3}[-.])\d{3}[-.]\d{4}(?![\w-]|\.\d)",
}
_compiled: dict[str, re.Pattern[str]] = {}


def _pattern(name: str) -> re.Pattern[str]:
    compiled = _compiled.get(name)
    if compiled is None:
        import re

        compiled = _compiled[name] = re.compile(_SOURCES[name])
    return compiled


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn check that every payment card number passes."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_match(match: re.Match[str]) -> str:
    found = match.group()
    # The groups may have run on into a number after the card ("4111 1111 1111 1111 42 tries"):
    # drop trailing groups until what is left passes the check or is too short to be a card.
    cut = len(found)
    while cut > 0:
        digits = found[:cut].replace(" ", "").replace("-", "")
        if len(digits) < 13:
            break
        if luhn_valid(digits):
            return NUMBER + found[cut:]
        cut = max(found.rfind(" ", 0, cut), found.rfind("-", 0, cut))
    return found


def _phone_match(match: re.Match[str]) -> str:
    found = match.group()
    # A phone number has at most 15 digits: what the groups took beyond that ("+49 30 1234567
    # 123-45-6789") is cut off at a separator and left to the rules after this one.
    # A space is the likelier end of one number and start of the next: cut there first.
    for separators in (" ", " -."):
        cut = len(found)
        while cut > 0 and sum(1 for char in found[:cut] if char.isdigit()) > 15:
            cut = max(found.rfind(separator, 0, cut) for separator in separators)
        if cut > 0 and sum(1 for char in found[:cut] if char.isdigit()) >= 8:
            return NUMBER + found[cut:]
    return found


def scrub_numbers(text: str) -> str:
    """MAC addresses, card numbers, social security and phone numbers -> ``<mac>`` / ``<number>``."""
    if (text.count(":") >= 5 and hex_between(text, ":", 2, 2)) or (
        text.count("-") >= 5 and hex_between(text, "-", 2, 2)
    ):
        text = _pattern("mac").sub(MAC, text)
    # One C pass (bytes.translate) instead of a regex scan for texts without a long enough digit run.
    if b"0" * _MIN_ANY not in text.encode("utf-8", "ignore").translate(_DIGITS, b" -.()+"):
        return text
    if "+" in text or "(" in text or "-" in text or "." in text:
        for _ in range(3):
            # Again over what a cut left (see _phone_match): it may start the next number.
            scrubbed = _pattern("phone").sub(_phone_match, text)
            if scrubbed == text:
                break
            text = scrubbed
    if "-" in text:
        text = _pattern("ssn").sub(NUMBER, text)
    return _pattern("card").sub(_card_match, text)
