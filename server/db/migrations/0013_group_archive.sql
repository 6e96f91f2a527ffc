-- A trust group may be archived with its collections (`accord admin group delete --archive`):
-- what it holds stays readable to its members, nothing new goes in.
ALTER TABLE trust_groups ADD COLUMN archived boolean NOT NULL DEFAULT false;
