-- Commands and their failure rates: one root span per command run.
-- The exporter writes StatusCode as STATUS_CODE_ERROR (older) or Error (newer): both are matched.
SELECT
    ServiceName AS app,
    SpanAttributes['command.name'] AS command,
    count() AS runs,
    countIf(StatusCode IN ('STATUS_CODE_ERROR', 'Error')) AS failures,
    round(failures / runs, 4) AS failure_rate
FROM otel_traces
WHERE ParentSpanId = '' AND SpanAttributes['command.name'] != ''
  AND Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, command
ORDER BY runs DESC
