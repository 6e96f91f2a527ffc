-- Sharing policy: TLP, sectors, recipients and attribution per stored version; trust-group
-- policy, managers and invitations; per-collection and per-key defaults; the audit log.

ALTER TABLE trust_groups
    ADD COLUMN identity_id text,
    ADD COLUMN description text,
    ADD COLUMN default_tlp text NOT NULL DEFAULT 'amber'
        CHECK (default_tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    ADD COLUMN default_attribution text NOT NULL DEFAULT 'credited'
        CHECK (default_attribution IN ('credited', 'withheld')),
    ADD COLUMN allow_anonymous boolean NOT NULL DEFAULT true,
    -- NULL: organisations of any sector may join.
    ADD COLUMN allowed_sectors text[],
    ADD COLUMN confidential_roster boolean NOT NULL DEFAULT false;
UPDATE trust_groups SET identity_id = 'identity--' || gen_random_uuid() WHERE identity_id IS NULL;
ALTER TABLE trust_groups ALTER COLUMN identity_id SET NOT NULL;
ALTER TABLE trust_groups ADD CONSTRAINT trust_groups_identity UNIQUE (identity_id);

ALTER TABLE group_members ADD COLUMN is_manager boolean NOT NULL DEFAULT false;

CREATE TABLE group_invitations (
    group_id   uuid NOT NULL REFERENCES trust_groups (id),
    org_id     uuid NOT NULL REFERENCES organizations (id),
    invited_by uuid REFERENCES organizations (id),
    created    timestamptz NOT NULL DEFAULT now(),
    state      text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined')),
    decided    timestamptz,
    PRIMARY KEY (group_id, org_id)
);

-- NULL defaults defer to the trust group's.
ALTER TABLE collections
    ADD COLUMN default_tlp text
        CHECK (default_tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    ADD COLUMN default_attribution text CHECK (default_attribution IN ('credited', 'withheld')),
    ADD COLUMN archived boolean NOT NULL DEFAULT false;

-- For clients that cannot set the Accord extension: what a key's posts default to.
ALTER TABLE api_keys
    ADD COLUMN default_tlp text
        CHECK (default_tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    ADD COLUMN default_attribution text CHECK (default_attribution IN ('credited', 'withheld'));

-- A collection's trust group never changes, so it is copied onto each row: the visibility
-- predicate then tests membership with one uncorrelated subquery.
ALTER TABLE objects
    ADD COLUMN group_id uuid REFERENCES trust_groups (id),
    ADD COLUMN tlp text NOT NULL DEFAULT 'amber'
        CHECK (tlp IN ('clear', 'green', 'amber', 'amber+strict', 'red')),
    ADD COLUMN sectors text[],
    ADD COLUMN recipients uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN withheld boolean NOT NULL DEFAULT false,
    ADD COLUMN withdrawn boolean NOT NULL DEFAULT false;
UPDATE objects o SET group_id = c.group_id FROM collections c WHERE c.id = o.collection_id;
ALTER TABLE objects ALTER COLUMN group_id SET NOT NULL;

-- Versions belong to their producer: the first organisation to post a versioned id owns it.
CREATE TABLE object_owners (
    stix_id      text PRIMARY KEY,
    producer_org uuid NOT NULL REFERENCES organizations (id),
    first_posted timestamptz NOT NULL DEFAULT now()
);
INSERT INTO object_owners (stix_id, producer_org)
SELECT DISTINCT ON (stix_id) stix_id, producer_org FROM objects WHERE versioned
ORDER BY stix_id, seq;

CREATE TABLE audit_log (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_org  uuid,
    actor_key  text,
    -- The organisation the entry concerns, so an org-admin can read its own entries.
    org_id     uuid,
    action     text NOT NULL,
    subject    text,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_org ON audit_log (org_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The platform operator's organisation exists from the start: it produces the reference
-- objects (TLP 2.0 marking definitions, the Accord extension) seeded into each collection.
INSERT INTO organizations (id, name, sector, identity_id, is_platform)
SELECT gen_random_uuid(), 'Accord platform', 'nonprofit', 'identity--' || gen_random_uuid(), true
WHERE NOT EXISTS (SELECT 1 FROM organizations WHERE is_platform);

-- One reference trust group that every organisation reads and nobody posts to: its
-- archived collection holds the TLP 2.0 marking definitions and the Accord extension.
ALTER TABLE trust_groups ADD COLUMN is_reference boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX trust_groups_one_reference ON trust_groups (is_reference) WHERE is_reference;
INSERT INTO trust_groups (id, name, identity_id, description, default_tlp, is_reference)
SELECT gen_random_uuid(), 'Accord reference', identity_id,
       'Definitions every member needs: TLP 2.0 markings and the Accord extension', 'clear', true
FROM organizations WHERE is_platform;
INSERT INTO collections (id, group_id, title, description, archived)
SELECT gen_random_uuid(), id, 'Accord reference',
       'TLP 2.0 marking definitions and the Accord sharing-terms extension definition', true
FROM trust_groups WHERE is_reference;
