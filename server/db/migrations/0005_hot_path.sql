-- Foreign keys on the two tables every ingested object is written to cost a trigger call
-- per row per key (about 40 % of the insert). Their values come from rows the ingest path
-- has just read (the caller's collection, its group, the caller's organisation), and
-- collections, groups and organisations are never deleted, so the checks buy nothing.
ALTER TABLE objects
    DROP CONSTRAINT objects_collection_id_fkey,
    DROP CONSTRAINT objects_producer_org_fkey,
    DROP CONSTRAINT objects_group_id_fkey;
ALTER TABLE object_owners DROP CONSTRAINT object_owners_producer_org_fkey;
