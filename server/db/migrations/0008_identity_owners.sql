-- The STIX identities Accord hands out are owned like posted objects: an organisation's
-- by that organisation, a trust group's by the platform. Without this, the first member
-- to post an identity object with another member's identity id would own it, and could
-- publish that organisation's identity as it liked. An id already taken that way passes
-- to its rightful owner (objects already stored stay, and remain their poster's).
INSERT INTO object_owners (stix_id, producer_org)
SELECT identity_id, id FROM organizations
ON CONFLICT (stix_id) DO UPDATE SET producer_org = EXCLUDED.producer_org;

INSERT INTO object_owners (stix_id, producer_org)
SELECT g.identity_id, p.id FROM trust_groups g, organizations p WHERE p.is_platform
ON CONFLICT (stix_id) DO UPDATE SET producer_org = EXCLUDED.producer_org;
