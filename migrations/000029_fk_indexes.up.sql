BEGIN;

-- Foreign keys into tables whose rows are deleted (guardians and children by erasure
-- and retention, conversations, clubs) get an index on the referencing side: without
-- one, deleting a referenced row scans the whole referencing table (once per row
-- deleted, so a retention run over thousands of guardians reads absence_report,
-- guardianship, survey_unit … thousands of times). Mostly-empty columns get partial
-- indexes.
--
-- absence_report's also serves a parent's recent reports (by guardian, from a day on),
-- read on every open and submission of the absence form.
CREATE INDEX absence_report_guardian ON absence_report (guardian_id, date_to);
CREATE INDEX conversation_child ON conversation (child_id);
CREATE INDEX child_club_club ON child_club (club_id);
CREATE INDEX guardian_conversation ON guardian (conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX guardianship_disputed_by ON guardianship (disputed_by) WHERE disputed_by IS NOT NULL;
CREATE INDEX child_next_confirmed_by ON child_next (confirmed_by) WHERE confirmed_by IS NOT NULL;
CREATE INDEX survey_unit_answered_by ON survey_unit (answered_by) WHERE answered_by IS NOT NULL;

COMMIT;
