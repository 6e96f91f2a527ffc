-- Organisations, API keys, trust groups, collections, stored objects and status resources.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    sector      text NOT NULL CHECK (sector IN ('government', 'private', 'academic', 'nonprofit')),
    identity_id text NOT NULL UNIQUE,
    is_platform boolean NOT NULL DEFAULT false,
    created     timestamptz NOT NULL DEFAULT now()
);
-- Exactly one platform organisation.
CREATE UNIQUE INDEX organizations_one_platform ON organizations (is_platform) WHERE is_platform;

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    role        text NOT NULL CHECK (role IN ('reader', 'contributor', 'org-admin', 'platform-admin')),
    secret_hash bytea NOT NULL,
    created     timestamptz NOT NULL DEFAULT now(),
    last_used   timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE trust_groups (
    id      uuid PRIMARY KEY,
    name    text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_members (
    group_id uuid NOT NULL REFERENCES trust_groups (id),
    org_id   uuid NOT NULL REFERENCES organizations (id),
    joined   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, org_id)
);
CREATE INDEX group_members_org ON group_members (org_id);

CREATE TABLE collections (
    id           uuid PRIMARY KEY,
    group_id     uuid NOT NULL REFERENCES trust_groups (id),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    description  text,
    allow_custom boolean NOT NULL DEFAULT true,
    created      timestamptz NOT NULL DEFAULT now(),
    -- The last date_added handed out; the row lock on it serialises writers so that
    -- date_added order is commit order and added_after readers never skip an object.
    last_added   timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX collections_group ON collections (group_id);

CREATE TABLE objects (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id uuid NOT NULL REFERENCES collections (id),
    stix_id       text NOT NULL,
    stix_type     text NOT NULL,
    spec_version  text NOT NULL,
    -- modified, else created, else date_added (unversioned objects such as SCOs).
    version       timestamptz NOT NULL,
    version_text  text NOT NULL,
    versioned     boolean NOT NULL,
    date_added    timestamptz NOT NULL,
    producer_org  uuid NOT NULL REFERENCES organizations (id),
    body          text NOT NULL
);
CREATE UNIQUE INDEX objects_version ON objects (collection_id, stix_id, version);
-- An unversioned object has one version only: a re-post is a duplicate.
CREATE UNIQUE INDEX objects_unversioned ON objects (collection_id, stix_id) WHERE NOT versioned;
CREATE INDEX objects_page ON objects (collection_id, date_added, seq);

CREATE TABLE statuses (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id),
    collection_id uuid NOT NULL REFERENCES collections (id),
    created       timestamptz NOT NULL DEFAULT now(),
    total         integer NOT NULL,
    success_count integer NOT NULL,
    failure_count integer NOT NULL,
    pending_count integer NOT NULL,
    successes     text NOT NULL,
    failures      text NOT NULL
);
CREATE INDEX statuses_created ON statuses (created);
