BEGIN;

-- A batch's recipients' rows are no longer written on the send path, with the batch's
-- outcome: they cost the alert more database time than the multicasts themselves. A
-- finished batch (sent or failed) is recorded later, in bulk once its announcement is
-- out, or at once when one of its recipients opens it. Until then readers take the
-- batch's members from its arrays. recorded is true exactly when the rows are written;
-- a batch queued again (staff retry a failed one) is not recorded until it finishes.
ALTER TABLE announcement_batch ADD COLUMN recorded boolean NOT NULL DEFAULT false;
UPDATE announcement_batch SET recorded = true WHERE state <> 'queued';
CREATE INDEX announcement_batch_unrecorded ON announcement_batch (announcement_id) WHERE state <> 'queued' AND NOT recorded;

COMMENT ON COLUMN announcement_batch.recorded IS 'The recipients'' rows of this finished batch are written (announcement_recipient). Until then they are read from guardian_ids and friend_ids.';

COMMIT;
