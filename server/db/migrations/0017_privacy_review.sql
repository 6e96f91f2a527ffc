-- Privacy review (issue 14): what a trust group does with an object the screen flags, and
-- the findings of the objects held for review (the objects wait in pending_objects,
-- awaiting 'accord:review', shared with nobody).
ALTER TABLE trust_groups ADD COLUMN privacy_policy text NOT NULL DEFAULT 'pass'
    CHECK (privacy_policy IN ('pass', 'hold', 'refuse'));

CREATE TABLE review_findings (
    status_id uuid NOT NULL,
    ord       integer NOT NULL,
    findings  jsonb NOT NULL,  -- [{"property", "reason"}]: never a value
    PRIMARY KEY (status_id, ord),
    FOREIGN KEY (status_id, ord) REFERENCES pending_objects (status_id, ord) ON DELETE CASCADE
);
