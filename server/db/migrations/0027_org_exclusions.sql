-- An organisation's own exclusion list (issue 12): values that must never be blocked at
-- that member (its own address ranges, its partners' domains). Its feeds and blocklist
-- exports leave matching values out, and its lookups flag them. Values are stored as the
-- facets spell them (server.ingest.lookup_values.classify); `net` is the address or range
-- of an ipv4/ipv6 entry, which excludes every value overlapping it; a domain entry also
-- excludes its subdomains; other kinds match exactly.
CREATE TABLE org_exclusions (
    org_id   uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind     text NOT NULL,
    value    text NOT NULL,
    net      cidr,
    note     text CHECK (length(note) <= 500),
    created  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, kind, value),
    CHECK ((net IS NOT NULL) = (kind IN ('ipv4', 'ipv6')))
);

-- Addresses and ranges are matched by overlap (`&&`), through this index.
CREATE INDEX org_exclusions_net ON org_exclusions USING gist (net inet_ops)
    WHERE net IS NOT NULL;

-- When an organisation's list last changed (an export's ETag must move with it, even when
-- the change was a removal that leaves no row behind).
ALTER TABLE organizations ADD COLUMN exclusions_changed timestamptz;
