BEGIN;

-- A class code verifies only a child's first guardian; a further guardian waits for the
-- school, and the child's verified guardians are told in LINE. One of them answering
-- 「心当たりがない」 is recorded here (who and when: internal IDs only) and keeps the
-- registration pending, with a warning on the approvals page.
ALTER TABLE guardianship
    ADD COLUMN disputed_at timestamptz,
    ADD COLUMN disputed_by bigint REFERENCES guardian (id) ON DELETE SET NULL;
COMMENT ON COLUMN guardianship.disputed_at IS 'When a verified guardian of the same child said in LINE that this registration was not known to them (「心当たりがない」); the guardianship is pending until the school decides again.';
COMMENT ON COLUMN guardianship.disputed_by IS 'The guardian who said so (NULL once they withdrew).';

COMMIT;
