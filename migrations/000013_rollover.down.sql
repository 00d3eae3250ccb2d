BEGIN;
ALTER TABLE retention_policy DROP COLUMN delete_on_leave, DROP COLUMN single_year, DROP COLUMN single_year_done;
DELETE FROM parent_link WHERE purpose = 'rollover';
ALTER TABLE parent_link DROP CONSTRAINT parent_link_purpose_check;
ALTER TABLE parent_link ADD CONSTRAINT parent_link_purpose_check CHECK (purpose IN ('register', 'update', 'absence', 'handouts'));
ALTER TABLE announcement DROP COLUMN cancel_reason;
DROP TABLE child_next;
DROP TABLE rollover;
COMMIT;
