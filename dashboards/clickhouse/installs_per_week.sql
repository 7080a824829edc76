-- Active installs per week (weeks start on Monday).
SELECT
    ServiceName AS app,
    toMonday(Timestamp) AS week,
    uniqExact(ResourceAttributes['optel.install.id']) AS installs
FROM otel_traces
WHERE Timestamp >= now() - INTERVAL 2 YEAR
GROUP BY app, week
ORDER BY app, week
