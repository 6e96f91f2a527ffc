-- DESIGN.md: an object posted without a TLP marking takes a default that is never CLEAR;
-- only its producer releases it to the world, by marking it so. Earlier releases let an
-- admin set CLEAR as a default: such keys and collections fall back to their group's
-- default, such groups to AMBER. The reference group (its definitions carry their own
-- markings, and nobody posts to it) keeps its own.
UPDATE api_keys SET default_tlp = NULL WHERE default_tlp = 'clear';
UPDATE collections SET default_tlp = NULL WHERE default_tlp = 'clear';
UPDATE trust_groups SET default_tlp = 'amber' WHERE default_tlp = 'clear' AND NOT is_reference;

ALTER TABLE api_keys ADD CONSTRAINT api_keys_default_not_clear CHECK (default_tlp <> 'clear');
ALTER TABLE collections
    ADD CONSTRAINT collections_default_not_clear CHECK (default_tlp <> 'clear');
ALTER TABLE trust_groups
    ADD CONSTRAINT trust_groups_default_not_clear CHECK (default_tlp <> 'clear' OR is_reference);
