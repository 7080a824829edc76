"""The consent-aware sampler: every span and metric batch asks it, and it says DROP unless consent allows sending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

_DROP = SamplingResult(Decision.DROP)
_SAMPLE = SamplingResult(Decision.RECORD_AND_SAMPLE)
_RECORD_AND_SAMPLE = Decision.RECORD_AND_SAMPLE


class ConsentLike(Protocol):
    """What the sampler reads of a `optel.consent.Consent`."""

    @property
    def mode(self) -> str: ...


class ConsentSampler(Sampler):
    """RECORD_AND_SAMPLE while `consent` allows sending, DROP when it is off, missing or withdrawn.

    A consent that carries `sending` (a `Consent`: mode not off *and* the install sampled) is read
    through it; anything else through its `mode`. `None` means no decision, which is off: fail closed.
    """

    def __init__(self, consent: ConsentLike | None) -> None:
        self._consent = consent
        self._on = _allows(consent)

    @property
    def on(self) -> bool:
        """Whether anything may be sent now."""
        return self._on

    def withdraw(self) -> None:
        """Turn off for good: consent was withdrawn while data was on its way."""
        self._on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        # Called once per span: no allocation when there is nothing to carry over. The attributes
        # go back in the result, as the SDK's own samplers do, so that the sampler also works in a
        # TracerProvider, where the result's attributes become the span's.
        if not self._on:
            return _DROP
        if not attributes and trace_state is None:
            return _SAMPLE
        return SamplingResult(_RECORD_AND_SAMPLE, attributes, trace_state)

    def metrics_allowed(self) -> bool:
        """The same decision for a file's metric measurements (they have no span to sample)."""
        return self.should_sample(None, 0, "optel.metrics").decision is _RECORD_AND_SAMPLE

    def get_description(self) -> str:
        mode = getattr(self._consent, "mode", None)
        return f"ConsentSampler{{{mode if self._on else 'off'}}}"


def _allows(consent: ConsentLike | None) -> bool:
    if consent is None:
        return False
    sending = getattr(consent, "sending", None)
    if isinstance(sending, bool):
        return sending
    return consent.mode in ("anonymous", "identified")
