-- LLM calls by provider and model: calls, failures, tokens and latency percentiles (seconds).
SELECT
    ServiceName AS app,
    SpanAttributes['gen_ai.provider.name'] AS provider,
    SpanAttributes['gen_ai.request.model'] AS model,
    count() AS calls,
    countIf(StatusCode IN ('STATUS_CODE_ERROR', 'Error')) AS failures,
    sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens'])) AS input_tokens,
    sum(toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens'])) AS output_tokens,
    quantile(0.5)(Duration) / 1e9 AS p50_s,
    quantile(0.9)(Duration) / 1e9 AS p90_s,
    quantile(0.99)(Duration) / 1e9 AS p99_s
FROM otel_traces
WHERE SpanAttributes['gen_ai.provider.name'] != ''
  AND Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, provider, model
ORDER BY calls DESC
