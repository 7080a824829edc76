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
from optel.privacy.markers import MAC, NUMBER

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
    # 13 digits or more, single spaces or dashes between them: a card, or a run of numbers with one
    # inside ("host:8080 4111 1111 1111 1111"); _card_match finds the card among its groups.
    "card": r"(?<![\w.+-])\d(?:[ -]?\d){12,}(?![\w-]|\.\d)",
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


def _card_shape(sizes: list[int]) -> bool:
    """Whether digit groups of these sizes are written as a card is: one run of 13-19, groups of four
    with a shorter last one, or Amex's and Diners' 4-6-5 and 4-6-4."""
    if not 13 <= sum(sizes) <= 19:
        return False
    if len(sizes) == 1 or sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return sizes[-1] <= 4 and all(size == 4 for size in sizes[:-1])


def _card_match(match: re.Match[str]) -> str:
    # The run may hold numbers before or after the card ("port 8080 4111 1111 1111 1111 42 tries"):
    # every window of its groups that is written and checks as a card is scrubbed, and where two
    # overlap (a window may take a number before the card and leave the card's last group), both.
    found = match.group()
    groups = found.replace("-", " ").split(" ")
    separators = [char for char in found if char in " -"]
    covered = [False] * len(groups)
    for start in range(len(groups)):
        for end in range(start + 1, min(len(groups), start + 19) + 1):
            if _dash_bound(separators, start, end, len(groups)):
                continue
            if _is_card(groups[start:end], separators[start : end - 1]):
                covered[start:end] = [True] * (end - start)
    out: list[str] = []
    for index, group in enumerate(groups):
        if index:
            if covered[index] and covered[index - 1]:
                continue
            out.append(separators[index - 1])
        out.append(NUMBER if covered[index] else group)
    return "".join(out)


def _dash_bound(separators: list[str], start: int, end: int, count: int) -> bool:
    """Whether the groups [start:end], written with spaces, have a group joined by a dash at an
    edge: a dash binds groups into one number ("4831 0744 3503 8908 942-312-2387" ends with a phone
    number), so the window would take that number's first group and leave the rest unscrubbed."""
    if end - start < 2 or "-" in separators[start : end - 1]:
        return False
    return (start > 0 and separators[start - 1] == "-") or (
        end < count and separators[end - 1] == "-"
    )


def _is_card(groups: list[str], separators: list[str]) -> bool:
    """Whether these digit groups (one separator throughout) are written and check as a card."""
    return (
        len(set(separators)) <= 1
        and _card_shape([len(group) for group in groups])
        and luhn_valid("".join(groups))
    )


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


def scrub_macs(text: str) -> str:
    """MAC addresses -> ``<mac>`` (a rule of its own: it runs before host names, see ``table.RULES``)."""
    if (text.count(":") >= 5 and hex_between(text, ":", 2, 2)) or (
        text.count("-") >= 5 and hex_between(text, "-", 2, 2)
    ):
        text = _pattern("mac").sub(MAC, text)
    return text


def scrub_numbers(text: str) -> str:
    """Card numbers, social security and phone numbers -> ``<number>``."""
    # One C pass (bytes.translate) instead of a regex scan for texts without a long enough digit run.
    if b"0" * _MIN_ANY not in text.encode("utf-8", "ignore").translate(_DIGITS, b" -.()+"):
        return text
    # Cards first: a phone number's groups would run on into a card after it ("+49 30 1234567
    # 4111 1111 1111 1111") and take its first group; a card is Luhn-checked, a phone number not.
    text = _pattern("card").sub(_card_match, text)
    if "+" in text or "(" in text or "-" in text or "." in text:
        for _ in range(3):
            # Again over what a cut left (see _phone_match): it may start the next number.
            scrubbed = _pattern("phone").sub(_phone_match, text)
            if scrubbed == text:
                break
            text = scrubbed
    if "-" in text:
        text = _pattern("ssn").sub(NUMBER, text)
    return text
