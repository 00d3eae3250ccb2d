BEGIN;

ALTER TABLE guardianship DROP COLUMN disputed_by, DROP COLUMN disputed_at;

COMMIT;
