-- Error types where an exception ended a command or an LLM call (an exception crosses every
-- span it leaves: counting every failed span would count it once per level).
SELECT
    ServiceName AS app,
    SpanAttributes['error.type'] AS error_type,
    count() AS failures
FROM otel_traces
WHERE StatusCode IN ('STATUS_CODE_ERROR', 'Error')
  AND (ParentSpanId = '' OR SpanAttributes['gen_ai.provider.name'] != '')
  AND Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, error_type
ORDER BY failures DESC
