BEGIN;
UPDATE line_outbound SET messages_enc = '\x' WHERE messages_enc IS NULL;
ALTER TABLE line_outbound ALTER COLUMN messages_enc SET NOT NULL;
DROP INDEX deletion_record_board;
ALTER TABLE deletion_record DROP COLUMN run_id, DROP COLUMN actor;
DROP TABLE retention_policy;
COMMIT;
