BEGIN;
-- SQL cannot decrypt sealed 定型文 back into the clear columns, and the schema before
-- 000014 has no room for them, so going down deletes them (templates only: no record
-- of anything sent; the audit log keeps their canned.create events). Refusing instead
-- would leave golang-migrate's version dirty and stop every instance from starting.
-- docs/OPERATIONS.md (Upgrades) says so.
DELETE FROM canned_reply WHERE body IS NULL;
ALTER TABLE canned_reply
    DROP CONSTRAINT canned_reply_sealed,
    DROP COLUMN title_enc,
    DROP COLUMN body_enc,
    ALTER COLUMN title SET NOT NULL,
    ALTER COLUMN body SET NOT NULL;
COMMENT ON COLUMN canned_reply.title IS NULL;
COMMENT ON COLUMN canned_reply.body IS NULL;
COMMENT ON TABLE canned_reply IS 'Reply templates written by staff (no personal data: names are typed into the reply, not the template).';
COMMIT;
