BEGIN;
-- SQL cannot decrypt sealed rows back into the clear columns. Rather than drop
-- templates silently, refuse; an operator who accepts losing them deletes them first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM canned_reply WHERE body IS NULL) THEN
        RAISE EXCEPTION 'canned_reply has encrypted rows that SQL cannot decrypt; to go below 000014 delete them first (DELETE FROM canned_reply WHERE body IS NULL) and have staff enter them again';
    END IF;
END $$;
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
