-- Version adoption: active installs per day and version.
SELECT
    ServiceName AS app,
    toDate(Timestamp) AS day,
    ResourceAttributes['service.version'] AS version,
    uniqExact(ResourceAttributes['optel.install.id']) AS installs
FROM otel_traces
WHERE Timestamp >= now() - INTERVAL 90 DAY
GROUP BY app, day, version
ORDER BY app, day, installs DESC
