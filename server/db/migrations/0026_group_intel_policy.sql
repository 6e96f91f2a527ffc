-- Two trust-group settings of the analyst intelligence (issue 12):
-- - warninglist_policy: what an indicator with a warninglisted value becomes when posted,
--   `warn` (stored, with a warning in the status) or `refuse` (a failure, nothing stored);
-- - half_lives: the group's own decay half-lives in days by observable kind (ipv4, domain,
--   ...); a kind it does not name takes the shipped default (schemas.lookup.HALF_LIFE_DAYS).
ALTER TABLE trust_groups
    ADD COLUMN warninglist_policy text NOT NULL DEFAULT 'warn'
        CHECK (warninglist_policy IN ('warn', 'refuse')),
    ADD COLUMN half_lives jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(half_lives) = 'object');
