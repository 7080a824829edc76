-- Consent modes: installs per mode (anonymous or identified) over the last 30 days.
SELECT
    ServiceName AS app,
    ResourceAttributes['optel.consent.mode'] AS mode,
    uniqExact(ResourceAttributes['optel.install.id']) AS installs
FROM otel_traces
WHERE Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, mode
ORDER BY installs DESC
