-- Analyst lookup and sightings (issue 12).
--
-- The lookup matches values through the blocklist facets ingest already writes
-- (ioc_kinds/ioc_values, GIN-indexed by 0010). Only the values those facets leave out are
-- written here: equality comparisons of compound (AND) patterns and the values and hashes
-- of SCOs. NULL for the usual indicator, whose values are all in ioc_values, so the common
-- ingest writes nothing more.
ALTER TABLE objects ADD COLUMN obs_kinds text[], ADD COLUMN obs_values text[];
-- True when a blocklist value is on a shipped warninglist (private and documentation
-- ranges, public resolvers, CDN and cloud ranges, top domains): NULL otherwise.
ALTER TABLE objects ADD COLUMN warned boolean;
CREATE INDEX objects_obs_values ON objects USING gin (obs_values) WITH (fastupdate = off)
    WHERE obs_values IS NOT NULL;

-- Sightings are ordinary stored objects, read through the visibility predicate like any
-- other; the lookup finds those of an indicator through this index. Partial, so that the
-- ingest of anything but a sighting pays one comparison (references are lower case:
-- schemas.stix refuses upper-case UUIDs).
CREATE INDEX objects_sighting_of ON objects ((body::jsonb ->> 'sighting_of_ref'))
    WHERE stix_type = 'sighting';

-- Deltas of deleted versions see the new columns too (objects_record_deletion fills
-- objects_deleted through jsonb, by column name).
ALTER TABLE objects_deleted ADD COLUMN obs_kinds text[], ADD COLUMN obs_values text[],
    ADD COLUMN warned boolean;
