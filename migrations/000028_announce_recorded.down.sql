BEGIN;

INSERT INTO announcement_recipient (announcement_id, guardian_id, friend_id, channel_id, batch_id, state)
SELECT b.announcement_id, u.g, u.f, b.channel_id, b.id, b.state
FROM announcement_batch b CROSS JOIN LATERAL unnest(b.guardian_ids, b.friend_ids) AS u(g, f)
WHERE b.state <> 'queued' AND NOT b.recorded AND EXISTS (SELECT 1 FROM guardian WHERE id = u.g)
ON CONFLICT (announcement_id, guardian_id) DO UPDATE SET state = EXCLUDED.state, batch_id = EXCLUDED.batch_id;
DROP INDEX announcement_batch_unrecorded;
ALTER TABLE announcement_batch DROP COLUMN recorded;

COMMIT;
