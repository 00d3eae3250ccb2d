BEGIN;
-- 定型文 may name a child (「〇〇さんの件ですが…」), so their title and text are encrypted
-- like every other staff-written text. SQL cannot encrypt (the keys are outside the
-- database), so this migration only makes room: rows written before it keep their clear
-- text until the running app seals them (the re-encryption job, which runs at start-up
-- and every minute, encrypts each such row and clears its title and body in the same
-- update). A later migration drops the clear columns once every installation has run
-- the app past this one.
ALTER TABLE canned_reply
    ADD COLUMN title_enc bytea,
    ADD COLUMN body_enc  bytea,
    ALTER COLUMN title DROP NOT NULL,
    ALTER COLUMN body DROP NOT NULL;
-- A row is either still clear (written before this migration) or sealed, never both
-- and never neither.
ALTER TABLE canned_reply ADD CONSTRAINT canned_reply_sealed CHECK (
    (title_enc IS NULL AND body_enc IS NULL AND title IS NOT NULL AND body IS NOT NULL)
    OR (title_enc IS NOT NULL AND body_enc IS NOT NULL AND title IS NULL AND body IS NULL));
COMMENT ON TABLE canned_reply IS 'Reply templates written by staff (定型文); they may name a child, so title and body are encrypted.';
COMMENT ON COLUMN canned_reply.title_enc IS 'The title, encrypted.';
COMMENT ON COLUMN canned_reply.body_enc IS 'The text, encrypted.';
COMMENT ON COLUMN canned_reply.title IS 'Clear text of a row written before migration 000014, until the app seals it (then NULL); dropped by a later migration.';
COMMENT ON COLUMN canned_reply.body IS 'Clear text of a row written before migration 000014, until the app seals it (then NULL); dropped by a later migration.';
COMMIT;
