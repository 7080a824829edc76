"""The markers that replace what a rule removed: each keeps nothing of the original."""

from __future__ import annotations

from optel.privacy.hosts import HOST
from optel.privacy.numbers import MAC, NUMBER

PATH = "<path>"
URL = "<url>"
EMAIL = "<email>"
IP = "<ip>"
SECRET = "<secret>"
USER = "<user>"
# What a value becomes when scrubbing itself failed: nothing of it can be trusted.
REDACTED = "<redacted>"
MARKERS = (PATH, URL, EMAIL, IP, SECRET, USER, HOST, NUMBER, MAC, REDACTED)
