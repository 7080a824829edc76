-- Active installs per day: distinct install ids with any span that day.
SELECT
    ServiceName AS app,
    toDate(Timestamp) AS day,
    uniqExact(ResourceAttributes['optel.install.id']) AS installs
FROM otel_traces
WHERE Timestamp >= now() - INTERVAL 90 DAY
GROUP BY app, day
ORDER BY app, day
