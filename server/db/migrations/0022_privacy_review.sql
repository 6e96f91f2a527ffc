-- Privacy review (issue 14): what a trust group does with an object the screen flags
-- (pass: label and share; hold: wait for a reviewer; refuse), and the objects held for
-- review, shared with nobody until a reviewer decides. The statuses keep them as pendings.
-- privacy_policy NULL: not set, decided from the members' sectors (hold when they are of
-- more than one sector, pass otherwise; server/privacy/rules.py).
ALTER TABLE trust_groups ADD COLUMN privacy_policy text
    CHECK (privacy_policy IN ('pass', 'hold', 'refuse'));
-- Organisations whose org-admins review the group's held objects besides the producer's.
ALTER TABLE trust_groups ADD COLUMN privacy_reviewers uuid[] NOT NULL DEFAULT '{}';
-- Address ranges the group marks as victim-side: an IP address in them in an observed-data
-- or a sighting is personal data (a victim's address).
ALTER TABLE trust_groups ADD COLUMN victim_ranges cidr[] NOT NULL DEFAULT '{}';

CREATE TABLE held_objects (
    id            uuid PRIMARY KEY,
    status_id     uuid NOT NULL,
    ord           integer NOT NULL,
    collection_id uuid NOT NULL REFERENCES collections (id),
    producer_org  uuid NOT NULL REFERENCES organizations (id),
    stix_id       text NOT NULL,
    version_text  text NOT NULL,
    body          text NOT NULL,       -- as posted; removed when decided
    poster        jsonb NOT NULL,      -- the principal it is decided under
    findings      jsonb NOT NULL,      -- [{"property", "reason"}]: never a value
    held          timestamptz NOT NULL DEFAULT now(),
    deadline      timestamptz NOT NULL,
    UNIQUE (status_id, ord)
);
CREATE INDEX held_objects_producer ON held_objects (producer_org, held);
CREATE INDEX held_objects_collection ON held_objects (collection_id, held);
