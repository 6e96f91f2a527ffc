-- Issue 10 (anonymity): withheld objects were stored in their envelope's commit, a
-- microsecond from the producer's credited objects. They now wait here, decided and durable
-- (written before the 202), until a release batch stores them: mixed across producers, in
-- random order, each collection's share with one date_added (server/ingest/withheld.py).
CREATE TABLE withheld_queue (
    id              bigserial PRIMARY KEY,
    collection_id   uuid NOT NULL,
    group_id        uuid NOT NULL,
    queued_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    stix_id         text COLLATE "C" NOT NULL,
    stix_type       text NOT NULL,
    spec_version    text NOT NULL,
    version         timestamptz,
    version_text    text,
    body            text NOT NULL,
    producer_org    uuid NOT NULL,
    tlp             text NOT NULL,
    sectors         text[],
    recipients      uuid[] NOT NULL,
    confidence      integer,
    labels          text[],
    indicator_types text[],
    valid_until     timestamptz,
    revoked         boolean NOT NULL,
    created_by_ref  text,
    ioc_kinds       text[],
    ioc_values      text[]
);
-- A version posted again before its release replaces the waiting one (the producer's
-- correction); an unversioned object waits once.
CREATE UNIQUE INDEX withheld_queue_version
    ON withheld_queue (collection_id, stix_id, coalesce(version_text, ''));
CREATE INDEX withheld_queue_group ON withheld_queue (group_id, queued_at);

-- The last release tick: every process ticks at the same wall-clock instants, and only the
-- first to reach a tick releases, so one tick never makes two small batches.
CREATE TABLE withheld_release_clock (
    one       boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_tick timestamptz NOT NULL
);
INSERT INTO withheld_release_clock (last_tick) VALUES ('-infinity');
