-- Tokens by provider, model and type, from the GenAI token histogram (its Sum is the tokens).
SELECT
    ServiceName AS app,
    Attributes['gen_ai.provider.name'] AS provider,
    Attributes['gen_ai.request.model'] AS model,
    Attributes['gen_ai.token.type'] AS token_type,
    sum(Sum) AS tokens,
    sum(Count) AS operations
FROM otel_metrics_histogram
WHERE MetricName = 'gen_ai.client.token.usage'
  AND TimeUnix >= now() - INTERVAL 30 DAY
GROUP BY app, provider, model, token_type
ORDER BY tokens DESC
