-- Operating system and Python (implementation and minor version): installs over the last 30 days.
SELECT
    ServiceName AS app,
    ResourceAttributes['os.type'] AS os,
    concat(
        ResourceAttributes['process.runtime.name'], ' ',
        arrayStringConcat(arraySlice(splitByChar('.', ResourceAttributes['process.runtime.version']), 1, 2), '.')
    ) AS python,
    uniqExact(ResourceAttributes['optel.install.id']) AS installs
FROM otel_traces
WHERE Timestamp >= now() - INTERVAL 30 DAY
GROUP BY app, os, python
ORDER BY installs DESC
