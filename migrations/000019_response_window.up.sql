BEGIN;

-- How long a parent's message may wait for an answer before the school's administrators
-- see it on their work queue as overdue, in school days (Monday to Friday, minus national
-- holidays and the school's closed days); the day it arrived does not count.
ALTER TABLE school
    ADD COLUMN response_window_days integer NOT NULL DEFAULT 2 CHECK (response_window_days BETWEEN 1 AND 10);
COMMENT ON COLUMN school.response_window_days IS 'School days a parent''s message may wait for an answer before the administrators'' work queue shows it as overdue (the day it arrived not counted).';

COMMIT;
