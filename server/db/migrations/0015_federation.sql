-- Federation (issue 16): peers (other exchanges, each also a local organisation so that the
-- one visibility predicate and the submission policy judge them like any member), the pull
-- and push agreements with their cursors, and the push outbox with its delivery log.

CREATE TABLE peers (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    -- The peer's objects are posted, and its reads judged, as this organisation.
    org_id      uuid NOT NULL UNIQUE REFERENCES organizations (id),
    api_root    text NOT NULL,
    auth_scheme text NOT NULL CHECK (auth_scheme IN ('bearer', 'basic', 'token')),
    -- The token the peer issued us ("user:password" for basic). Needed in clear to call it.
    secret      text NOT NULL,
    client_cert text,
    client_key  text,
    -- Objects that have crossed this many borders are neither pulled nor pushed further.
    hop_limit   integer NOT NULL DEFAULT 2 CHECK (hop_limit BETWEEN 1 AND 16),
    -- Whether objects from this peer may be re-published to other peers.
    onward      boolean NOT NULL DEFAULT false,
    paused      boolean NOT NULL DEFAULT false,
    created     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peer_pulls (
    id                uuid PRIMARY KEY,
    peer_id           uuid NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    remote_collection text NOT NULL,
    collection_id     uuid NOT NULL REFERENCES collections (id),
    -- AMBER is pulled only when the agreement names the local group it goes to.
    amber_group       uuid REFERENCES trust_groups (id),
    -- The cursor, written in the transaction that stores the objects it covers: the
    -- remote's own timestamp text (passed back as is) and a `next` token mid-sequence.
    added_after       text,
    next_token        text,
    -- The remote's X-TAXII-Date-Added-Last of the last page stored while following `next`:
    -- where to resume by added_after if the remote stops honouring the token.
    seen_until        text,
    due               timestamptz NOT NULL DEFAULT now(),
    failures          integer NOT NULL DEFAULT 0,
    last_error        text,
    last_success      timestamptz,
    objects_in        bigint NOT NULL DEFAULT 0,
    refused           bigint NOT NULL DEFAULT 0,
    created           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (peer_id, remote_collection, collection_id)
);

CREATE TABLE peer_pushes (
    id                uuid PRIMARY KEY,
    peer_id           uuid NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    collection_id     uuid NOT NULL REFERENCES collections (id),
    remote_collection text NOT NULL,
    -- RED is never pushed; AMBER only when the agreement says so.
    tlp_max           text NOT NULL DEFAULT 'green' CHECK (tlp_max IN ('clear', 'green', 'amber')),
    -- NULL: only objects releasable to every sector. Else objects releasable to all of these.
    sectors           text[],
    attribution       text NOT NULL DEFAULT 'exchange'
        CHECK (attribution IN ('producer', 'exchange', 'withheld')),
    -- Keyset position (date_added, seq) in the local collection of what is enqueued.
    after_added       timestamptz NOT NULL DEFAULT '-infinity',
    after_seq         bigint NOT NULL DEFAULT 0,
    objects_out       bigint NOT NULL DEFAULT 0,
    created           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (peer_id, collection_id, remote_collection)
);

CREATE TABLE peer_outbox (
    id          uuid PRIMARY KEY,
    push_id     uuid NOT NULL REFERENCES peer_pushes (id) ON DELETE CASCADE,
    seqs        bigint[] NOT NULL,
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    due         timestamptz NOT NULL DEFAULT now(),
    created     timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error  text
);
CREATE INDEX peer_outbox_due ON peer_outbox (due) WHERE state = 'pending';

-- One line per attempt; kept when an agreement is removed (no foreign key).
CREATE TABLE peer_deliveries (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    peer_id   uuid NOT NULL,
    outbox_id uuid NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    objects   integer NOT NULL,
    status    integer,
    error     text,
    state     text NOT NULL
);
CREATE INDEX peer_deliveries_peer ON peer_deliveries (peer_id, at);
