BEGIN;

-- An alert's audience is resolved in steps, and its first batches go out while the
-- rest is still being resolved. While that lasts, resolving holds the token of the run
-- doing it: each step commits only under its own token, so a run taken over after a
-- crash is fenced off, and the announcement is not sent while its audience is open.
ALTER TABLE announcement ADD COLUMN resolving uuid;

-- A batch keeps its members (guardians and their friends, in the order sent) until it
-- is sent; the recipients' rows are written with the outcome (sent or failed), so no
-- recipient row is written twice. The arrays fix who a batch goes to: a retry sends
-- exactly the same request under the same retry key.
ALTER TABLE announcement_batch ADD COLUMN guardian_ids bigint[], ADD COLUMN friend_ids bigint[];

UPDATE announcement_batch b SET guardian_ids = r.g, friend_ids = r.f
FROM (SELECT batch_id, array_agg(guardian_id ORDER BY guardian_id) AS g, array_agg(friend_id ORDER BY guardian_id) AS f
      FROM announcement_recipient WHERE batch_id IS NOT NULL AND state IN ('queued', 'failed') GROUP BY batch_id) r
WHERE b.id = r.batch_id;
DELETE FROM announcement_recipient WHERE batch_id IS NOT NULL AND state = 'queued';

COMMENT ON COLUMN announcement_recipient.state IS 'skipped: the guardian had blocked the account when the audience was resolved. A batch''s recipients get their rows when the batch is sent or fails (queued: legacy rows only).';

COMMIT;
