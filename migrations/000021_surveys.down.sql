BEGIN;

ALTER TABLE retention_policy DROP COLUMN survey_days;
DELETE FROM parent_link WHERE purpose = 'survey';
ALTER TABLE parent_link DROP CONSTRAINT parent_link_purpose_check;
ALTER TABLE parent_link ADD CONSTRAINT parent_link_purpose_check CHECK (purpose IN ('register', 'update', 'absence', 'handouts', 'rollover'));
DROP TABLE survey_recipient;
DROP TABLE survey_unit;
DROP TABLE survey_handout;
DROP TABLE survey;

COMMIT;
