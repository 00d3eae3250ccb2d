BEGIN;

-- Pending events that any processing job may take up (see line.ProcessEvents): those of
-- a user, other than follows, oldest first. Small: rows leave it once processed.
CREATE INDEX line_event_claimable ON line_event (id)
    WHERE processed_at IS NULL AND user_key IS NOT NULL AND event_type <> 'follow';

COMMIT;
