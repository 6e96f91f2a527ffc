-- Full blocklist exports (export.txt, export.csv) read `blocklist_rows`: for each stored
-- indicator version that carries blocklist values, the columns the visibility predicate,
-- the feed filters and the export read, under the same names as in `objects`, and nothing
-- else (no body: at a million indicators `objects` took 869 MB, this 326 MB). The export
-- is then one scan of the smaller table, through the same predicate
-- (server.store.visibility) and the same feed condition, applied to this table.
--
-- The rows are kept equal to their `objects` rows by statement triggers in the writing
-- transaction (insert, update, delete), so every change an export must reflect
-- (withdrawal, restore, a later version superseding, deletion) is there in the same commit,
-- and the watermark (read from `objects`) still names exactly what an export holds.
CREATE TABLE blocklist_rows (
    seq             bigint PRIMARY KEY,
    collection_id   uuid NOT NULL,
    group_id        uuid NOT NULL,
    producer_org    uuid NOT NULL,
    version         timestamptz NOT NULL,
    valid_until     timestamptz,
    confidence      integer,
    withdrawn       boolean NOT NULL,
    withheld        boolean NOT NULL,
    revoked         boolean NOT NULL,
    superseded      boolean NOT NULL,
    tlp             text NOT NULL,
    stix_type       text NOT NULL,
    stix_id         text COLLATE "C" NOT NULL,
    sectors         text[],
    recipients      uuid[] NOT NULL,
    labels          text[],
    indicator_types text[],
    created_by_ref  text,
    ioc_kinds       text[] NOT NULL,
    ioc_values      text[] NOT NULL
);

-- A version stored after a later version of its object (out of order: a re-sync, a peer's
-- pull) is superseded from the start; 0010's trigger marked only the older versions of each
-- inserted one, so such a version stayed unmarked and was exported beside the later one.
CREATE OR REPLACE FUNCTION objects_mark_superseded() RETURNS trigger LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
    SET enable_bitmapscan = off AS $$
BEGIN
    UPDATE objects o SET superseded = true FROM inserted i
    WHERE o.collection_id = i.collection_id AND o.stix_id = i.stix_id
      AND o.version < i.version AND NOT o.superseded;
    UPDATE objects o SET superseded = true FROM inserted i
    WHERE o.seq = i.seq AND NOT o.superseded AND EXISTS (SELECT 1 FROM objects n
        WHERE n.collection_id = i.collection_id AND n.stix_id = i.stix_id
          AND n.version > i.version);
    RETURN NULL;
END $$;
UPDATE objects o SET superseded = true WHERE NOT o.superseded AND EXISTS (SELECT 1
    FROM objects n WHERE n.collection_id = o.collection_id AND n.stix_id = o.stix_id
      AND n.version > o.version);

-- Defence in depth behind ingest, where only canonical values become blocklist values
-- (server.ingest.facets): a row with a value that has white space, a control character, a
-- quote or a separator for its kind never enters blocklist_rows, so nothing of it leaves
-- in a blocklist line. Checked once when the row is written, not on every export (a
-- firewall polls every minute; this check was 1.9 of a 4.0 s export at a million values).
CREATE FUNCTION blocklist_safe(r text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'NOT EXISTS (SELECT 1 FROM unnest(' || r || '.ioc_kinds, ' || r || '.ioc_values)'
        || ' u(k, v) WHERE NOT coalesce(CASE u.k'
        || ' WHEN ''ipv4'' THEN u.v ~ ''^[0-9./]+$'''
        || ' WHEN ''ipv6'' THEN u.v ~ ''^[0-9a-f:./]+$'''
        || ' WHEN ''domain'' THEN u.v ~ ''^[a-z0-9._-]+$'''
        || ' WHEN ''url'' THEN u.v ~ ''^[!-~]+$'' WHEN ''email'' THEN u.v ~ ''^[!-~]+$'''
        || ' ELSE u.v ~ ''^[0-9a-f]+$'' END, false))'
$$;

-- One select list for the three triggers and the backfill.
CREATE FUNCTION blocklist_mirror(rows_sql text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT r.seq, r.collection_id, r.group_id, r.producer_org, r.version,'
        || ' r.valid_until, r.confidence, r.withdrawn, r.withheld, r.revoked, r.superseded,'
        || ' r.tlp, r.stix_type, r.stix_id, r.sectors, r.recipients, r.labels,'
        || ' r.indicator_types, r.created_by_ref, r.ioc_kinds, r.ioc_values FROM '
        || rows_sql || ' r WHERE r.stix_type = ''indicator'' AND r.ioc_kinds IS NOT NULL'
        || ' AND r.ioc_values IS NOT NULL AND ' || blocklist_safe('r')
$$;

DO $$ BEGIN
    EXECUTE 'INSERT INTO blocklist_rows ' || blocklist_mirror('objects') || ' ORDER BY r.seq';
END $$;

-- The export's second branch (rows with a later version, which get the per-row look for a
-- later visible one) reads these few through this index instead of a second full scan.
CREATE INDEX blocklist_rows_superseded ON blocklist_rows (seq) WHERE superseded;
ANALYZE blocklist_rows;

-- New versions. DO NOTHING: the superseded trigger (which runs first, by name) may already
-- have mirrored a row of this statement that a later version in the same envelope marked.
CREATE FUNCTION blocklist_rows_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'INSERT INTO blocklist_rows ' || blocklist_mirror('inserted')
        || ' ON CONFLICT (seq) DO NOTHING';
    RETURN NULL;
END $$;
CREATE TRIGGER objects_to_blocklist_insert AFTER INSERT ON objects
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION blocklist_rows_insert();

-- Changed versions (withdrawn, restored, superseded): the new state replaces the old one,
-- and a row that no longer carries values leaves.
-- Joins on the primary key whatever the statistics say (a transition table has none).
CREATE FUNCTION blocklist_rows_update() RETURNS trigger LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
    SET enable_bitmapscan = off AS $$
BEGIN
    DELETE FROM blocklist_rows b USING updated u WHERE b.seq = u.seq;
    EXECUTE 'INSERT INTO blocklist_rows ' || blocklist_mirror('updated');
    RETURN NULL;
END $$;
CREATE TRIGGER objects_to_blocklist_update AFTER UPDATE ON objects
    REFERENCING NEW TABLE AS updated FOR EACH STATEMENT
    EXECUTE FUNCTION blocklist_rows_update();

CREATE FUNCTION blocklist_rows_delete() RETURNS trigger LANGUAGE plpgsql
    SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
    SET enable_bitmapscan = off AS $$
BEGIN
    DELETE FROM blocklist_rows b USING deleted d WHERE b.seq = d.seq;
    RETURN NULL;
END $$;
CREATE TRIGGER objects_to_blocklist_delete AFTER DELETE ON objects
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
    EXECUTE FUNCTION blocklist_rows_delete();
