-- Removal events that are not new object versions (issues 12 and 14): an indicator version
-- whose valid_until passed, an object erased by its producer or a platform admin.
--
-- A revocation is a version of its own and reaches consumers as one; these causes write
-- no version, so each leaves a row here instead. Rows take their seq from the objects'
-- identity sequence and their date_added from the ingest clock (under its row lock, so in
-- commit order), so one cursor (date_added, seq) orders objects and removals together:
-- Last-Event-ID and webhook positions resume across both. A row keeps, under the same
-- names as in `objects`, the columns the visibility predicate and the structural feed
-- filters read (collection, group, type, TLP, observable kinds), copied from the version
-- it removes, and nothing of its content: not its labels, confidence, indicator types or
-- author (an identity may be a person's), which an erasure must not keep. The same
-- predicate (server.store.visibility) judges it at emission time, after the version is
-- gone; feeds filtering on those properties receive the removal whatever they were.
CREATE TABLE removal_events (
    seq             bigint PRIMARY KEY,
    date_added      timestamptz NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('expired', 'erased')),
    collection_id   uuid NOT NULL,
    group_id        uuid NOT NULL,
    stix_id         text COLLATE "C" NOT NULL,
    stix_type       text NOT NULL,
    producer_org    uuid NOT NULL,
    tlp             text NOT NULL,
    sectors         text[],
    recipients      uuid[] NOT NULL,
    withdrawn       boolean NOT NULL,
    withheld        boolean NOT NULL,
    ioc_kinds       text[]
);
CREATE INDEX removal_events_added ON removal_events (date_added, seq);

-- The instant up to which expiries have been turned into events: one run covers
-- (last_run, now], so each version expires once, across restarts and processes.
CREATE TABLE expiry_clock (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_run timestamptz NOT NULL
);
INSERT INTO expiry_clock (last_run) VALUES (now());

-- A webhook batch carries its removals beside its objects (re-judged at each attempt).
ALTER TABLE webhook_deliveries ADD COLUMN removal_seqs bigint[] NOT NULL DEFAULT '{}';

-- Retention (issue 14): object versions older than this many days are purged with their
-- sightings. NULL on a collection: the group's; NULL on the group: kept.
ALTER TABLE trust_groups ADD COLUMN retention_days integer CHECK (retention_days > 0);
ALTER TABLE collections ADD COLUMN retention_days integer CHECK (retention_days > 0);
-- The purge walks old versions of one collection by date_added: objects_page serves it.
