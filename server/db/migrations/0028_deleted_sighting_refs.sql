-- A deleted sighting keeps naming its indicator (issue 12): a min_score delta after a
-- sighting's deletion (a retention purge deletes many at once) judges that indicator's
-- value again, where it had to answer in full, with every value, for want of the name.
-- Rows recorded before this migration have none and still make the answer full.
ALTER TABLE objects_deleted ADD COLUMN sighting_of_ref text COLLATE "C";

CREATE OR REPLACE FUNCTION objects_record_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO objects_deleted
    SELECT * FROM jsonb_populate_record(NULL::objects_deleted,
        to_jsonb(OLD) || jsonb_build_object('deleted_at', accord_clock_tick(),
            'sighting_of_ref', CASE WHEN OLD.stix_type = 'sighting'
                                    THEN OLD.body::jsonb ->> 'sighting_of_ref' END));
    RETURN OLD;
END $$;
