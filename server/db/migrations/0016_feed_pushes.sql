-- Push agreements that publish a feed (an organisation's saved selection over collections)
-- instead of one collection: exactly one of the two is named. Deleting the feed ends the
-- agreement (and drops its queued batches), as removing it would.

ALTER TABLE peer_pushes ALTER COLUMN collection_id DROP NOT NULL;
ALTER TABLE peer_pushes ADD COLUMN feed_id uuid REFERENCES feeds (id) ON DELETE CASCADE;
ALTER TABLE peer_pushes ADD CONSTRAINT peer_pushes_one_source
    CHECK ((collection_id IS NULL) <> (feed_id IS NULL));
CREATE UNIQUE INDEX peer_pushes_feed ON peer_pushes (peer_id, feed_id, remote_collection)
    WHERE feed_id IS NOT NULL;
