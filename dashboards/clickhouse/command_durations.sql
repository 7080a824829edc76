-- Command duration percentiles, in seconds (Duration is in nanoseconds).
SELECT
    ServiceName AS app,
    SpanAttributes['command.name'] AS command,
    count() AS runs,
    quantile(0.5)(Duration) / 1e9 AS p50_s,
    quantile(0.9)(Duration) / 1e9 AS p90_s,
    quantile(0.99)(Duration) / 1e9 AS p99_s
FROM otel_traces
WHERE ParentSpanId = '' AND SpanAttributes['command.name'] != ''
  AND Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, command
ORDER BY runs DESC
