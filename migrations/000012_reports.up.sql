BEGIN;

-- A minute in which renraku was up: its job queue's leader and the database both
-- worked. The monthly report's availability is the share of minutes with a beat.
CREATE TABLE availability_beat (
    at timestamptz PRIMARY KEY CHECK (at = date_trunc('minute', at))
);

COMMIT;
