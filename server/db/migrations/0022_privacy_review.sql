-- Privacy review (issue 14): what a trust group does with an object the screen flags
-- (pass: label and share; hold: wait for a reviewer; refuse), and the objects held for
-- review, shared with nobody until a reviewer decides. The statuses keep them as pendings.
ALTER TABLE trust_groups ADD COLUMN privacy_policy text NOT NULL DEFAULT 'pass'
    CHECK (privacy_policy IN ('pass', 'hold', 'refuse'));

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
