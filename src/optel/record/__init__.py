"""Producing records in the host: spans, measurements, the session summary and the data dictionary.

Submodules load on demand: ``spans`` is the hot path, ``api`` holds the decorators, ``dictionary``
declares every signal, ``flush`` turns records into spool dicts and ``resource`` gathers the
machine facts at flush time.
"""

from __future__ import annotations
