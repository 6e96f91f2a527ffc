-- Observable values of every stored version (pattern comparisons and SCO values), for the
-- analyst lookup. One row per (version, value); `net` holds addresses and CIDR ranges so
-- that an address finds the ranges containing it through the GiST index (`net >>= addr`).
-- No foreign key (a trigger per row on the ingest path): a deleted version's rows no
-- longer join to `objects` and so match nothing.
CREATE TABLE observables (
    seq   bigint NOT NULL,
    kind  text NOT NULL,
    value text NOT NULL,
    net   inet
);
CREATE INDEX observables_value ON observables (kind, value);
CREATE INDEX observables_net ON observables USING gist (net inet_ops) WHERE net IS NOT NULL;

-- Versions stored before this migration: the simple patterns' values the exports knew.
CREATE FUNCTION pg_temp.as_inet(t text) RETURNS inet LANGUAGE plpgsql AS $$
BEGIN
    RETURN t::inet;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
INSERT INTO observables (seq, kind, value, net)
SELECT o.seq, x.kind,
       CASE WHEN x.kind IN ('ipv4', 'ipv6') THEN coalesce(
           CASE WHEN masklen(a.net) = CASE family(a.net) WHEN 4 THEN 32 ELSE 128 END
                THEN host(a.net) ELSE text(a.net) END, x.value)
            WHEN x.kind = 'url' THEN x.value ELSE lower(x.value) END,
       a.net
FROM objects o, unnest(o.ioc_kinds, o.ioc_values) AS x(kind, value),
     LATERAL (SELECT CASE WHEN x.kind IN ('ipv4', 'ipv6')
                          THEN pg_temp.as_inet(x.value) END AS net) a
WHERE o.ioc_kinds IS NOT NULL;
DROP FUNCTION pg_temp.as_inet(text);

-- Sightings reported by members (TAXII `sighting` objects or POST /api/v1/sightings), one
-- row per collection in which the sighter could see the indicator: a sighting is shown
-- with the indicator's copy there, so it is shared no wider than that copy. Readers get
-- aggregates; `sighter_org` is named only where `credited`.
CREATE TABLE sightings (
    -- One report: the same id on each of its rows, counted once however many copies.
    report        uuid NOT NULL,
    collection_id uuid NOT NULL REFERENCES collections (id),
    stix_id       text NOT NULL,
    sighter_org   uuid NOT NULL REFERENCES organizations (id),
    kind          text NOT NULL CHECK (kind IN ('seen', 'false-positive', 'expired')),
    count         integer NOT NULL CHECK (count BETWEEN 1 AND 1000000000),
    first_seen    timestamptz,
    last_seen     timestamptz NOT NULL,
    credited      boolean NOT NULL DEFAULT false,
    sighting_ref  text,
    created       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report, collection_id)
);
CREATE INDEX sightings_target ON sightings (stix_id, collection_id);
-- A sighting object posted again (a new version) updates its report.
CREATE UNIQUE INDEX sightings_object ON sightings (sighting_ref, sighter_org, collection_id)
    WHERE sighting_ref IS NOT NULL;
