-- Feeds and exports leave warninglisted values out unless the feed asks for them
-- (issue 12), and the blocklist exports stay on their fast path (blocklist_rows, 0021)
-- while doing so: the table carries the warninglist flag of its `objects` row.
ALTER TABLE blocklist_rows ADD COLUMN warned boolean;
UPDATE blocklist_rows b SET warned = true FROM objects o WHERE o.seq = b.seq AND o.warned;

-- The triggers' select list (0021) with the flag, last, as the column now stands.
CREATE OR REPLACE FUNCTION blocklist_mirror(rows_sql text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'SELECT r.seq, r.collection_id, r.group_id, r.producer_org, r.version,'
        || ' r.valid_until, r.confidence, r.withdrawn, r.withheld, r.revoked, r.superseded,'
        || ' r.tlp, r.stix_type, r.stix_id, r.sectors, r.recipients, r.labels,'
        || ' r.indicator_types, r.created_by_ref, r.ioc_kinds, r.ioc_values, r.warned FROM '
        || rows_sql || ' r WHERE r.stix_type = ''indicator'' AND r.ioc_kinds IS NOT NULL'
        || ' AND r.ioc_values IS NOT NULL AND ' || blocklist_safe('r')
$$;

-- A version whose flag changes (`accord admin reindex` after a warninglist update, or for
-- versions stored before 0020) changes what default exports hold: stamp it, so that the
-- export's watermark (and ETag) moves and a delta carries the value (0010).
CREATE OR REPLACE FUNCTION objects_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.withdrawn, NEW.tlp, NEW.sectors, NEW.recipients, NEW.revoked, NEW.valid_until,
        NEW.ioc_kinds, NEW.ioc_values, NEW.body, NEW.warned)
       IS DISTINCT FROM
       (OLD.withdrawn, OLD.tlp, OLD.sectors, OLD.recipients, OLD.revoked, OLD.valid_until,
        OLD.ioc_kinds, OLD.ioc_values, OLD.body, OLD.warned) THEN
        NEW.changed := accord_clock_tick();
    END IF;
    RETURN NEW;
END $$;

-- The opt-out `exclude_warninglisted` becomes the opt-in `include_warninglisted`. Every
-- stored filter holds the old key (false was the default and was written out whether asked
-- or not), so none is read as a request for the listed values: the key is dropped and each
-- feed takes the new default. `updated` moves, so export ETags handed out before change.
UPDATE feeds SET filter = filter - 'exclude_warninglisted', updated = now()
    WHERE filter ? 'exclude_warninglisted';

-- Where `accord admin reindex` stands (the last seq it rewrote), so that a run stopped
-- half-way resumes instead of starting again.
CREATE TABLE reindex_progress (
    name        text PRIMARY KEY,
    last_seq    bigint NOT NULL,
    rewritten   bigint NOT NULL DEFAULT 0,
    started     timestamptz NOT NULL DEFAULT now(),
    updated     timestamptz NOT NULL DEFAULT now(),
    finished    timestamptz
);

-- The prefix lengths of the CIDR ranges stored (ipv4 24, ipv6 48, ...): a looked-up
-- address is probed as each prefix that can be stored, not as all 32 (or 128), which was
-- most of the index probes of a bulk lookup (server.store.lookup). Only ever grows: a
-- length no longer stored costs a probe that finds nothing, never a missed range.
CREATE TABLE lookup_prefix_lengths (
    kind    text NOT NULL,
    bits    integer NOT NULL,
    PRIMARY KEY (kind, bits)
);

CREATE FUNCTION lookup_prefix_lengths_sql(rows_sql text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'INSERT INTO lookup_prefix_lengths SELECT DISTINCT u.k, split_part(u.v, ''/'', 2)::int'
        || ' FROM ' || rows_sql || ' r, unnest(coalesce(r.ioc_kinds, ''{}'') || coalesce(r.obs_kinds, ''{}''),'
        || ' coalesce(r.ioc_values, ''{}'') || coalesce(r.obs_values, ''{}'')) AS u(k, v)'
        || ' WHERE u.k IN (''ipv4'', ''ipv6'') AND u.v ~ ''/[0-9]{1,3}$'''
        || ' ON CONFLICT DO NOTHING'
$$;

DO $$ BEGIN
    EXECUTE lookup_prefix_lengths_sql('objects');
END $$;

-- Statement triggers, as 0021's: one pass over the rows of an envelope (the common
-- indicator has no range, and the test is a string match on values already in memory).
CREATE FUNCTION lookup_prefix_lengths_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE lookup_prefix_lengths_sql('inserted');
    RETURN NULL;
END $$;
CREATE TRIGGER objects_prefix_lengths_insert AFTER INSERT ON objects
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
    EXECUTE FUNCTION lookup_prefix_lengths_insert();

CREATE FUNCTION lookup_prefix_lengths_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE lookup_prefix_lengths_sql('updated');
    RETURN NULL;
END $$;
CREATE TRIGGER objects_prefix_lengths_update AFTER UPDATE ON objects
    REFERENCING NEW TABLE AS updated FOR EACH STATEMENT
    EXECUTE FUNCTION lookup_prefix_lengths_update();
