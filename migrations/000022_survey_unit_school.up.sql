BEGIN;

-- A school's staff see the board's surveys that reached their school: find a survey's
-- units in a school without reading the others.
CREATE INDEX survey_unit_school ON survey_unit (survey_id, school_id);

COMMIT;
