BEGIN;

DROP TABLE school_closed_day;

COMMIT;
