-- Commands run, from the counter (delta temporality: each row is one flush's increment).
SELECT
    ServiceName AS app,
    Attributes['command.name'] AS command,
    Attributes['outcome'] AS outcome,
    sum(Value) AS runs
FROM otel_metrics_sum
WHERE MetricName = 'optel.cli.command.invocations'
  AND TimeUnix >= now() - INTERVAL 30 DAY
GROUP BY app, command, outcome
ORDER BY runs DESC
