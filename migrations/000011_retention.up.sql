BEGIN;

-- How long each board keeps conversations, absence reports and announcements. A daily
-- job deletes what is older, and records each deletion (no personal data).
CREATE TABLE retention_policy (
    board_id          bigint PRIMARY KEY REFERENCES board (id),
    message_days      integer NOT NULL DEFAULT 730 CHECK (message_days BETWEEN 30 AND 3650),
    absence_days      integer NOT NULL DEFAULT 730 CHECK (absence_days BETWEEN 30 AND 3650),
    announcement_days integer NOT NULL DEFAULT 730 CHECK (announcement_days BETWEEN 30 AND 3650),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- A retention run's records share its run ID; who ran it is a role, never a name.
ALTER TABLE deletion_record
    ADD COLUMN run_id uuid,
    ADD COLUMN actor  text NOT NULL DEFAULT '' CHECK (length(actor) <= 40);
CREATE INDEX deletion_record_board ON deletion_record (board_id, occurred_at);

-- The copies of messages sent to a parent are wiped (not the rows: they count the
-- month's LINE usage) when the parent withdraws or the board's period for conversations
-- passes.
ALTER TABLE line_outbound ALTER COLUMN messages_enc DROP NOT NULL;
COMMENT ON COLUMN line_outbound.messages_enc IS 'The messages, encrypted; NULL once wiped (withdrawal or retention) after they were sent.';

COMMIT;
