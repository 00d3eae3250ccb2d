BEGIN;

DROP TRIGGER IF EXISTS line_channel_changed ON line_channel;
DROP FUNCTION IF EXISTS line_channel_notify();

COMMIT;
