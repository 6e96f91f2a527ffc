-- Keys the server itself holds (the cursor key that seals next tokens and event ids), shared
-- by every process and kept across restarts. Created by the first process that starts.
CREATE TABLE server_keys (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (octet_length(value) >= 16),
    created timestamptz NOT NULL DEFAULT now()
);
