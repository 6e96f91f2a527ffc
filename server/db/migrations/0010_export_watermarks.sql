-- Blocklist exports answer If-None-Match and ?since= from a watermark, not from their
-- content (docs/production.md, "Blocklist exports"). Every change an export can reflect
-- gets a commit-ordered instant from the ingest clock (the same row lock ingest holds, so
-- instants increase in commit order): a new version is its date_added; a change to a stored
-- version (withdrawal, restore) stamps `changed`; a deletion leaves a row in
-- objects_deleted. Expiry needs no write: the watermark includes the latest valid_until
-- that has passed.

ALTER TABLE objects ADD COLUMN changed timestamptz;

CREATE FUNCTION accord_clock_tick() RETURNS timestamptz LANGUAGE sql AS $$
    UPDATE ingest_clock SET last_added = greatest(clock_timestamp(), last_added + interval '1 microsecond')
    RETURNING last_added
$$;

CREATE FUNCTION objects_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.withdrawn, NEW.tlp, NEW.sectors, NEW.recipients, NEW.revoked, NEW.valid_until,
        NEW.ioc_kinds, NEW.ioc_values, NEW.body)
       IS DISTINCT FROM
       (OLD.withdrawn, OLD.tlp, OLD.sectors, OLD.recipients, OLD.revoked, OLD.valid_until,
        OLD.ioc_kinds, OLD.ioc_values, OLD.body) THEN
        NEW.changed := accord_clock_tick();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER objects_stamp_change BEFORE UPDATE ON objects
    FOR EACH ROW EXECUTE FUNCTION objects_stamp_change();

-- What a delta needs of a deleted version: the columns the visibility predicate and feed
-- filters read. Filled through jsonb so that columns added to `objects` later do not
-- break the trigger (add them here too for deltas to see them).
CREATE TABLE objects_deleted (
    deleted_at      timestamptz NOT NULL,
    seq             bigint NOT NULL,
    collection_id   uuid NOT NULL,
    group_id        uuid NOT NULL,
    stix_id         text COLLATE "C" NOT NULL,
    stix_type       text NOT NULL,
    version         timestamptz NOT NULL,
    date_added      timestamptz NOT NULL,
    producer_org    uuid NOT NULL,
    tlp             text NOT NULL,
    sectors         text[],
    recipients      uuid[] NOT NULL,
    withdrawn       boolean NOT NULL,
    confidence      integer,
    labels          text[],
    indicator_types text[],
    valid_until     timestamptz,
    revoked         boolean NOT NULL,
    created_by_ref  text,
    ioc_kinds       text[],
    ioc_values      text[]
);
CREATE INDEX objects_deleted_at ON objects_deleted (group_id, deleted_at);

CREATE FUNCTION objects_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO objects_deleted
    SELECT * FROM jsonb_populate_record(NULL::objects_deleted,
        to_jsonb(OLD) || jsonb_build_object('deleted_at', accord_clock_tick()));
    RETURN OLD;
END $$;
CREATE TRIGGER objects_record_deletion AFTER DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION objects_record_deletion();

-- The watermark's probes: newest change and latest passed expiry per trust group.
CREATE INDEX objects_changed ON objects (group_id, changed) WHERE changed IS NOT NULL;
CREATE INDEX objects_expiry ON objects (group_id, valid_until) WHERE valid_until IS NOT NULL;
-- A delta checks its candidate values against the current export by value. Without
-- fastupdate: with it, every search reads the whole unsorted pending list (up to 4 MB,
-- 270 ms a lookup measured at 1M objects) until a vacuum or a full list merges it.
CREATE INDEX objects_ioc_values ON objects USING gin (ioc_values) WITH (fastupdate = off)
    WHERE ioc_values IS NOT NULL;

-- A version with a later version in its collection is `superseded`. Exports take the
-- latest version a reader may see: only superseded rows need the per-row look for a
-- later visible one, instead of an anti-join of the whole table against itself (half
-- of a million-value export's time). Set by the insert of the later version, in the same
-- statement's transaction; never cleared (a superseded row just gets the full check).
ALTER TABLE objects ADD COLUMN superseded boolean NOT NULL DEFAULT false;
UPDATE objects o SET superseded = true WHERE EXISTS (SELECT 1 FROM objects n
    WHERE n.collection_id = o.collection_id AND n.stix_id = o.stix_id AND n.version > o.version);

-- One probe of the (collection_id, stix_id, version) index per inserted row, whatever the
-- statistics say: without them (a fresh table, autovacuum off) the planner chose a hash
-- join over the whole table, and ingest slowed down as the table grew.
CREATE FUNCTION objects_mark_superseded() RETURNS trigger LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
    SET enable_bitmapscan = off AS $$
BEGIN
    UPDATE objects o SET superseded = true FROM inserted i
    WHERE o.collection_id = i.collection_id AND o.stix_id = i.stix_id
      AND o.version < i.version AND NOT o.superseded;
    RETURN NULL;
END $$;
CREATE TRIGGER objects_mark_superseded AFTER INSERT ON objects
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION objects_mark_superseded();

-- The state behind each ETag handed out, so that ?since=<etag> can answer the change.
-- The ETag is a keyed hash of it: it tells a reader nothing of the clock.
CREATE TABLE export_marks (
    etag     text PRIMARY KEY,
    basis    text NOT NULL,
    at       timestamptz NOT NULL,
    expired  timestamptz NOT NULL,
    created  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX export_marks_created ON export_marks (created);

CREATE TABLE export_secret (
    id     boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret text NOT NULL
);
INSERT INTO export_secret (secret) VALUES (gen_random_uuid()::text || gen_random_uuid()::text);
