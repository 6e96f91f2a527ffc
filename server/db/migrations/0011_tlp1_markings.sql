-- Consumers that map only TLP 1.0 marking ids to a TLP (Cortex XSOAR's TAXII 2 feed:
-- MARKING_DEFINITION_TO_TLP in its TAXII2ApiModule knows the four TLP 1.0 ids and nothing
-- else) treat an object marked with a TLP 2.0 id as unmarked and apply their own default.
-- A collection or feed with this option also serves the TLP 1.0 id of the same or a
-- stricter level in object_marking_refs (CLEAR -> WHITE, GREEN -> GREEN, AMBER and
-- AMBER+STRICT -> AMBER, RED -> RED). Stored objects are not changed: the id is added as
-- they are served.
ALTER TABLE collections ADD COLUMN tlp1_markings boolean NOT NULL DEFAULT false;
ALTER TABLE feeds ADD COLUMN tlp1_markings boolean NOT NULL DEFAULT false;
