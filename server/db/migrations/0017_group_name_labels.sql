-- Issue 10 (name oracle): a trust group's name was unique on the whole server, so creating
-- or renaming a group to the name of a group the caller cannot see answered 409 "already
-- exists" and told it that the hidden group exists. Names are labels now, as collection
-- titles and feed names already are; ids identify. A name is refused only when it repeats
-- that of another group the acting organisation can see (server/store/groups.py).
ALTER TABLE trust_groups DROP CONSTRAINT IF EXISTS trust_groups_name_key;
CREATE INDEX IF NOT EXISTS trust_groups_name ON trust_groups (name);
