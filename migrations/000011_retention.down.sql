BEGIN;
DROP INDEX deletion_record_board;
ALTER TABLE deletion_record DROP COLUMN run_id, DROP COLUMN actor;
DROP TABLE retention_policy;
COMMIT;
