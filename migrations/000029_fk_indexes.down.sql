BEGIN;

DROP INDEX absence_report_guardian, conversation_child, child_club_club, guardian_conversation, guardianship_disputed_by,
    child_next_confirmed_by, survey_unit_answered_by;

COMMIT;
