"""The bank API (CONTRACTS.md section 5): FastAPI app, access rules, audit, figures from the analytics package.

Modules: `app` (factory), `context` (collaborators), `auth` (key → bank, rate limit, consent, scope),
`audit` (ASGI middleware), `problems` (RFC 9457 errors), `ratelimit`, `params` (input limits), `series`
(pure) and `series_source` (InfluxDB), `figures` (profile, credit, orders via `analytics.analyze_job`),
`indicators` and `orders` (pure definitions), `objections` (异议), `webhooks` (pure rules) and
`webhook_jobs` (monitor), `models` (the API's tables), `routes/` (endpoints). Documented in docs/api.md.
"""
