-- Feeds: a global commit-ordered clock, facts extracted for filters and blocklists,
-- saved feeds with their webhooks, and the webhook outbox.

-- date_added is handed out under this one row's lock, so it increases strictly in commit
-- order across all collections: a feed spanning collections can resume from one cursor.
CREATE TABLE ingest_clock (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_added timestamptz NOT NULL
);
INSERT INTO ingest_clock (last_added)
SELECT coalesce(max(date_added), '-infinity') FROM objects;
CREATE INDEX objects_added ON objects (date_added, seq);

ALTER TABLE objects
    ADD COLUMN confidence      integer,
    ADD COLUMN labels          text[],
    ADD COLUMN indicator_types text[],
    ADD COLUMN valid_until     timestamptz,
    ADD COLUMN revoked         boolean NOT NULL DEFAULT false,
    ADD COLUMN created_by_ref  text,
    -- Values of simple equality patterns, kind and value in parallel arrays.
    ADD COLUMN ioc_kinds       text[],
    ADD COLUMN ioc_values      text[];

CREATE TABLE feeds (
    id                   uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES organizations (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    filter               jsonb NOT NULL,
    created              timestamptz NOT NULL DEFAULT now(),
    updated              timestamptz NOT NULL DEFAULT now(),
    webhook_url          text,
    webhook_secret       text,
    webhook_max_attempts integer NOT NULL DEFAULT 8 CHECK (webhook_max_attempts BETWEEN 1 AND 100),
    -- Keyset position up to which objects were put in the outbox.
    webhook_added        timestamptz,
    webhook_seq          bigint
);
CREATE INDEX feeds_org ON feeds (org_id);

CREATE TABLE webhook_deliveries (
    id           uuid PRIMARY KEY,
    feed_id      uuid NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created      timestamptz NOT NULL DEFAULT now(),
    -- The versions in the batch; the body is built at each attempt through the visibility
    -- predicate, so a retry never carries what the feed's organisation may no longer see.
    seqs         bigint[] NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    next_attempt timestamptz NOT NULL DEFAULT now(),
    last_status  integer,
    last_error   text,
    delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_feed ON webhook_deliveries (feed_id, created);

ALTER TABLE collections DROP COLUMN last_added;
