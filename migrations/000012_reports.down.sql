BEGIN;
DROP TABLE availability_beat;
COMMIT;
