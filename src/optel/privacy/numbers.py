"""Numbers that name a person or a device: payment card numbers (Luhn-valid, 13-19 digits), US social
security numbers, phone numbers in international (``+49 30 1234567``) or North American
(``(555) 123-4567``, ``555-123-4567``) form -> ``<number>``; MAC addresses -> ``<mac>``.

Other national ids (each country writes its own) and phone numbers written as a bare run of digits
are not recognised: a bare run is as likely a timestamp, an order number or a request id. The one
exception is a run that passes the Luhn check with a card's length, which is scrubbed even when it
was no card (a 19-digit nanosecond timestamp in a message does, one time in ten).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

NUMBER = "<number>"
MAC = "<mac>"
# A digit run (spaces, dashes and dots between digits ignored) this long may be one of the above.
MIN_DIGITS = 9

_SOURCES = {
    "mac": r"(?i)(?<![\w:.-])[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![\w:-])",
    "card": r"(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w-]|[ -]\d)",
    "ssn": r"(?<![\w.-])\d{3}-\d{2}-\d{4}(?![\w-]|\.\d)",
    "phone": r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w-]|\.\d)"
    r"|(?<![\w(-])(?:\(\d{3}\)\s?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w-]|\.\d)",
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
    digits = match.group().replace(" ", "").replace("-", "")
    return NUMBER if luhn_valid(digits) else match.group()


def _phone_match(match: re.Match[str]) -> str:
    digits = sum(1 for char in match.group() if char.isdigit())
    return NUMBER if 8 <= digits <= 15 else match.group()


def scrub_numbers(text: str) -> str:
    """MAC addresses, card numbers, social security and phone numbers -> ``<mac>`` / ``<number>``."""
    if text.count(":") >= 5 or text.count("-") >= 5:
        text = _pattern("mac").sub(MAC, text)
    if not any(char.isdigit() for char in text):
        return text
    if "+" in text or "(" in text or "-" in text or "." in text:
        text = _pattern("phone").sub(_phone_match, text)
    if "-" in text:
        text = _pattern("ssn").sub(NUMBER, text)
    return _pattern("card").sub(_card_match, text)
