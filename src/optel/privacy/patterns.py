"""The regular expressions of the built-in rules, as sources, compiled on first use.

Nothing is compiled at import: ``import re`` alone costs most of the host's exit budget, and most
strings never need it (see ``fastpath``).
"""

from __future__ import annotations

from optel.privacy.hosts import DOTTED
from optel.privacy.table import SHAPES

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

# A path segment: anything but whitespace, separators and the punctuation that ends a path in prose.
_SEG = r"""[^\s/\\<>"'`|;,()\[\]{}*?=&:]"""
# Inner segments may hold a few single spaces before a capitalised word or a digit ("Alice Smith",
# "Program Files (x86)") when a separator follows; prose words after a path are lower case, and
# the last segment takes no space (but see "spaced_tail"), or a path would swallow the sentence
# after it.
_INNER = _SEG + r"+(?: [A-Z0-9(][^\s/\\<>\"'`|;,\[\]{}*?=&:]*){0,3}"
_EXT = r"\.[A-Za-z][A-Za-z0-9]{0,7}"
# An escape as repr() or JSON writes it inside a path ("caf\\xe9", "\\udcff", "a\\nb"): part of a
# segment, where a separator or the end of the match would leave the rest of the name outside.
_ESC = r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\s]*\}|[0-7]{1,3}|[ntrabfv])"
_SEG_ESC = r"(?:" + _SEG + r"|" + _ESC + r")"
_INNER_ESC = _SEG_ESC + r"+(?: [A-Z0-9(][^\s/\\<>\"'`|;,\[\]{}*?=&:]*){0,3}"
# A word of a file name written with spaces: no separator, no "@" (an e-mail after a path is prose)
# and no "~" (so that no path can start inside the name).
_WORD = r"""[^\s/\\<>"'`|;,()\[\]{}*?=&:@~]"""
_PLAIN_WORD = r"(?!" + _WORD + r"*" + _EXT + r"(?!" + _WORD + r"))" + _WORD + r"+"
_DOC_EXT = (
    r"\.(?i:pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|md|csv|tsv|pages|numbers|key|epub|html?|xml|json"
    r"|log|png|jpe?g|gif|bmp|tiff?|heic|svg|webp|psd|mp[34]|m4a|mov|avi|mkv|wav|flac|zip|rar|7z"
    r"|tar|t?gz|dmg|iso|eml|msg|ics|vcf|ipynb)"
)
# "+" because base64 holds "/": "abc+/def" is one run, not "abc+" and a path. ":" is no guard:
# "file:/x", "PYTHONPATH=/a:/b" and "cp:~/x" end in paths, and a drive letter is matched first.
_NOT_AFTER = r"(?<![\w./\\~@+-])"


def _path_source(seg: str, inner: str) -> str:
    """The path pattern; `seg` and `inner` are the POSIX segments (with escapes, or without)."""
    return "|".join(
        (
            # UNC, also as repr() writes it: \\server\share\... or \\\\server\\share
            r"(?<![\w\\])\\{2,4}(?=" + _SEG + r")(?:" + _INNER + r"\\+)*" + _SEG + r"*",
            # drive letters: C:\Users\..., c:/x, and repr()'s doubled backslashes
            r"(?<![\w])[A-Za-z]:[/\\]+(?:" + _INNER + r"[/\\]+)*" + _SEG + r"*",
            # absolute POSIX (a//b is one path) and forward-slash UNC (//server/share); a lone "/"
            # says nothing and is prose ("a / b")
            _NOT_AFTER + r"/{1,2}(?=" + seg + r")(?:" + inner + r"/+)*" + seg + r"*",
            # absolute POSIX as JSON escapes it: \/home\/alice\/x
            # (the backslash before the look-behind: most positions fail on it, and cheaply)
            r"\\(?<![\w.\\]\\)/(?=" + seg + r")(?:" + seg + r"+\\/)+" + seg + r"*",
            # home-relative and dot-relative: ~/x, ~alice/x, ./x, ../x
            _NOT_AFTER
            + r"(?:~[\w.-]*|\.{1,2})(?:[/\\](?:"
            + _INNER
            + r"(?=[/\\])|"
            + _SEG
            + r"*))+",
            # "~" alone, as scrub_home leaves a bare home directory
            _NOT_AFTER + r"~(?![\w/\\])",
            # relative: a directory written with a trailing separator (org/project-name/), or two or
            # more separators (a/b/c, a\b\c) but not a date (11/23/2026)
            _NOT_AFTER
            + r"(?!\d+/\d+/\d+(?![\w/]))"
            + _SEG
            + r"+[/\\]"
            + _SEG
            + r"+(?:[/\\](?![/\\]|"
            + _SEG
            + r")|(?:[/\\]"
            + _SEG
            + r"+)+[/\\]?(?![/\\]|"
            + _SEG
            + r"))",
            # relative with one separator and a file extension: src/main.py
            _NOT_AFTER + _SEG + r"+[/\\]" + _SEG + r"*" + _EXT + r"(?![\w.])",
        )
    )


_SOURCES: dict[str, str] = {
    "url": r"(?i)(?<![\w.+-])(?:"
    # JSON writes "/" as "\/": https:\/\/host\/x is as much a URL as https://host/x.
    r"(?:[a-z][a-z0-9+.-]{1,19}:(?://|\\/\\/)|www\.)[^\s<>\"'`]*"
    # scp-style remotes (git@host:team/repo.git, deploy@10.0.0.5:/srv): user, host and path in one.
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)*:(?=[\w~./-])[^\s<>\"'`]*"
    r")",
    # Remotes without a scheme: gitlab.com/org/repo/, registry.acme.io:5000/team/image (a pattern of
    # its own: it runs only where a dot is followed by a top-level domain).
    "remote": r"(?i)(?<![\w.@/\\-])" + DOTTED + r"(?::\d+)?/[^\s<>\"'`]*",
    "path": _path_source(_SEG, _INNER),
    # The same, with repr()'s and JSON's escapes inside POSIX segments: for texts with a backslash
    # only, since an alternation per character costs twice a character class.
    "path_esc": _path_source(_SEG_ESC, _INNER_ESC),
    # The rest of a file name written with spaces, right after a path whose last segment is a plain
    # word: " Smith CV.pdf" after "~/Bob". It ends in the extension of a document people name in
    # words (a cut there would leave the name's tail outside the marker), and the words before it
    # end in no extension, so "/x/state.db for ops" and "/tmp/x then alice.smith" keep their prose.
    "spaced_tail": r"(?: "
    + _PLAIN_WORD
    + r"){0,5} "
    + _WORD
    + r"*"
    + _DOC_EXT
    + r"(?=[.!]*(?!"
    + _SEG
    + r"|[/\\]))",
    # What any spaced tail holds, as a pattern that starts with a literal and so scans fast.
    "spaced_doc": r" " + _WORD + r"*" + _DOC_EXT,
    "ext_end": _EXT + r"$",
    "email": r"(?i)(?<![\w.%+-])[\w.%+-]+@(?:(?:[\w-]+\.)+[^\W\d_]{2,}|\[?\d{1,3}(?:\.\d{1,3}){3}\]?|localhost)(?![\w-])",
    "ipv6": r"(?i)(?<![\w:.])(?:"
    r"(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})"
    r"|(?:[0-9a-f]{1,4}:){1,7}:"
    r"|::"
    r")(?:%[\w.-]+)?(?![0-9A-Za-z_]|:[0-9A-Fa-f:]|\.\d)",
    "ipv4": r"(?<![\w.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)",
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    "auth_header": r"(?i)(?<![\w-])((?:proxy-)?authorization|(?:set-)?cookie|x-api-key|x-auth-token)(\s*:\s*)[^\r\n]*",
    "auth_scheme": r"(?i)(?<![\w-])(bearer|basic|digest|token)(\s+)([A-Za-z0-9._~+/=_-]{8,})",
    # Every shape of the one table (table.SHAPES), which the fast path and the gateway share.
    "token_prefix": r"(?<![A-Za-z0-9])(?:" + "|".join(shape.pattern for shape in SHAPES) + r")",
    "jwt": r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    "key_value": r"(?i)(?<![A-Za-z0-9_.-])"
    r"(?P<dash>--?)?"
    r"(?P<key>[A-Za-z0-9_.-]{0,40}?"
    r"(?:pass|pwd|secret|token|api[_-]?key|auth|access[_-]?key|private[_-]?key|credential|cookie|session|jwt)"
    r"[A-Za-z0-9_.-]{0,40})"
    r"(?P<q>[\"']?)"
    r"(?P<sep>\s*(?:=>|[:=])\s*|(?(dash)[ \t]+|(?!)))"
    r"(?P<scheme>(?:bearer|basic|token)[ \t]+)?"
    # The whole value, as a shell reads a word: a quoted value to its closing quote (spaces and
    # escaped quotes included), else up to whitespace; `&`, `;`, `,` or `)` do not end it, nor does a
    # quoted part without spaces (abc"def"). A lone quote does: in prose it closes a quotation.
    r"(?P<val>(?:\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|[^\s\"'])"
    r"(?:[^\s\"']|\"[^\"\s]*\"|'[^'\s]*')*)",
    "long_hex": r"(?<![A-Za-z0-9])[0-9A-Fa-f]{32,}(?![A-Za-z0-9])",
    "long_run": r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{32,}={0,2}(?![A-Za-z0-9+/_=-])",
    "wordish": r"(?:[A-Z]?[a-z]+|[A-Z]+|\d+[A-Za-z]?){1,3}",
    "camel_word": r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+",
    "consonants": r"[^aeiouyAEIOUY]{5}",
}

_compiled: dict[str, re.Pattern[str]] = {}


def pattern(name: str) -> re.Pattern[str]:
    """The compiled built-in pattern `name` (compiled once, on first use)."""
    compiled = _compiled.get(name)
    if compiled is None:
        import re

        compiled = _compiled[name] = re.compile(_SOURCES[name])
    return compiled
