"""Producing records in the host: spans, measurements, the session summary and the data dictionary.

Submodules load on demand: ``spans`` is the hot path, ``api`` holds the decorators (built by
``wrappers``, ``shapes`` and ``llm_wrap``), ``genai`` reads LLM responses, ``dictionary`` declares
every signal, ``flush`` turns records into spool dicts (``clean`` cleans them) and ``resource``
gathers the machine facts at flush time.
"""

from __future__ import annotations
