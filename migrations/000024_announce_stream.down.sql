BEGIN;

INSERT INTO announcement_recipient (announcement_id, guardian_id, friend_id, channel_id, batch_id, state)
SELECT b.announcement_id, u.g, u.f, b.channel_id, b.id, 'queued'
FROM announcement_batch b CROSS JOIN LATERAL unnest(b.guardian_ids, b.friend_ids) AS u(g, f)
WHERE b.state = 'queued' AND EXISTS (SELECT 1 FROM guardian WHERE id = u.g)
ON CONFLICT (announcement_id, guardian_id) DO NOTHING;
ALTER TABLE announcement_batch DROP COLUMN guardian_ids, DROP COLUMN friend_ids;
ALTER TABLE announcement DROP COLUMN resolving;

COMMIT;
