"""The markers a scrubbing rule puts where it found something: each keeps nothing of the original.

Apart from the rule table (``table``) so that the scrubber and ``optel.privacy`` can name them
without loading the table: a run whose strings all pass the fast path never needs it.
"""

from __future__ import annotations

PATH = "<path>"
URL = "<url>"
EMAIL = "<email>"
IP = "<ip>"
SECRET = "<secret>"
USER = "<user>"
# What a value becomes when scrubbing itself failed: nothing of it can be trusted.
REDACTED = "<redacted>"
HOST = "<host>"
NUMBER = "<number>"
MAC = "<mac>"
MARKERS = (PATH, URL, EMAIL, IP, SECRET, USER, HOST, NUMBER, MAC, REDACTED)
# What a private model name becomes (``models.public_model_name``).
CUSTOM = "custom"
