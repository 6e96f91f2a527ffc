-- Issue 9 (DESIGN.md "Sharing policy", replaced rules):
-- 1. Ownership of an id's line of versions is held per trust group, not platform-wide: two
--    members of unrelated groups may each post the same public object, and nothing one
--    posts depends on what exists in a group it cannot read. The first organisation whose
--    version of an id is stored in a group owns the id there.
CREATE TABLE group_owners (
    group_id     uuid NOT NULL,
    stix_id      text COLLATE "C" NOT NULL,
    producer_org uuid NOT NULL,
    -- Id first: the same index finds an id's owner in one group and its owners in the
    -- others. The latter only ever decides whether to look, among what the poster may
    -- read, for a restricted copy it received; it is never in an answer itself.
    PRIMARY KEY (stix_id, group_id)
);
INSERT INTO group_owners (group_id, stix_id, producer_org)
SELECT DISTINCT ON (group_id, stix_id) group_id, stix_id, producer_org
FROM objects WHERE versioned ORDER BY group_id, stix_id, seq;

-- 2. What stays platform-wide is the identities Accord hands out (an organisation's, owned by
--    it; a trust group's, owned by the platform) and the platform's reference objects: no
--    member publishes an object under those ids or names them as created_by_ref.
CREATE TABLE reserved_ids (
    stix_id   text COLLATE "C" PRIMARY KEY,
    owner_org uuid NOT NULL
);
INSERT INTO reserved_ids (stix_id, owner_org)
SELECT identity_id, id FROM organizations
ON CONFLICT DO NOTHING;
INSERT INTO reserved_ids (stix_id, owner_org)
SELECT g.identity_id, p.id FROM trust_groups g, organizations p WHERE p.is_platform
ON CONFLICT DO NOTHING;
INSERT INTO reserved_ids (stix_id, owner_org)
SELECT DISTINCT o.stix_id, o.producer_org FROM objects o JOIN trust_groups g ON g.id = o.group_id
WHERE g.is_reference
ON CONFLICT DO NOTHING;
DROP TABLE object_owners;

-- 3. A withdrawn object stays withdrawn: later versions and copies its producer posts to the
--    collection are stored withdrawn too, until an admin restores the object.
CREATE TABLE withdrawn_objects (
    collection_id uuid NOT NULL,
    stix_id       text COLLATE "C" NOT NULL,
    PRIMARY KEY (collection_id, stix_id)
);
INSERT INTO withdrawn_objects (collection_id, stix_id)
SELECT DISTINCT collection_id, stix_id FROM objects WHERE withdrawn;

-- 4. Objects whose marking-definition has not arrived yet are held, shared with nobody,
--    as `pending` in their status until it arrives or the wait times out.
ALTER TABLE statuses ADD COLUMN pendings text NOT NULL DEFAULT '[]';
ALTER TABLE statuses ALTER COLUMN pendings SET STORAGE EXTERNAL;
CREATE TABLE pending_objects (
    status_id     uuid NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    ord           integer NOT NULL,
    collection_id uuid NOT NULL,
    stix_id       text NOT NULL,
    version_text  text NOT NULL,
    -- The marking-definition ids still awaited.
    awaiting      text[] NOT NULL,
    -- The object as posted and the poster as authenticated then (the decision is taken
    -- with the poster's rights and defaults of that moment).
    body          text NOT NULL,
    poster        jsonb NOT NULL,
    deadline      timestamptz NOT NULL,
    PRIMARY KEY (status_id, ord)
);
CREATE INDEX pending_objects_collection ON pending_objects (collection_id, deadline);
