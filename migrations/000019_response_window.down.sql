BEGIN;

ALTER TABLE school DROP COLUMN response_window_days;

COMMIT;
