BEGIN;

DROP INDEX survey_unit_school;

COMMIT;
