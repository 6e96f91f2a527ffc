-- People in the web console: user accounts within an organisation, their one-time
-- invitation links, and server-side sessions. Secrets (passwords, invitation and session
-- tokens) are stored only as hashes.
ALTER TABLE organizations ADD COLUMN require_totp boolean NOT NULL DEFAULT false;

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations (id),
    email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role           text NOT NULL CHECK (role IN ('reader', 'contributor', 'org-admin',
                                                 'platform-admin')),
    password_hash  text,
    totp_secret    text,
    created        timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    failed_signins integer NOT NULL DEFAULT 0,
    locked_until   timestamptz
);
-- One account per address, whatever its case.
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_org ON users (org_id);

CREATE TABLE user_invitations (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    created    timestamptz NOT NULL DEFAULT now(),
    expires    timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    csrf       text NOT NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    expires    timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);

-- The console's object page shows relationships and sightings one hop out: those that
-- name an object, found by index. Partial: only those two types pay for it at ingest.
CREATE INDEX objects_refs ON objects USING gin ((ARRAY[(body::jsonb)->>'source_ref',
    (body::jsonb)->>'target_ref', (body::jsonb)->>'sighting_of_ref']))
    WHERE stix_type IN ('relationship', 'sighting');
