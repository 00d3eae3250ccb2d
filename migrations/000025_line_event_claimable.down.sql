BEGIN;

DROP INDEX IF EXISTS line_event_claimable;

COMMIT;
