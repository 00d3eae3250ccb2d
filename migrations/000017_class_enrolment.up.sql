BEGIN;

-- A 学級閉鎖 decision is made against the number of pupils on a class's roll, not the
-- number whose parents registered in renraku: one feverish child who is the only one
-- registered is not 100 % of the class. The school enters each class's enrolment; a
-- class without one shows counts but no percentage and raises no alert.
ALTER TABLE class
    ADD COLUMN enrolment integer CHECK (enrolment BETWEEN 0 AND 999);
COMMENT ON COLUMN class.enrolment IS 'The class''s enrolment (在籍者数) as the school enters it; NULL until set. The share of the class absent with fever or 出席停止 is counted against it.';

ALTER TABLE school
    ADD COLUMN absence_alert_min integer NOT NULL DEFAULT 2 CHECK (absence_alert_min BETWEEN 1 AND 100);
COMMENT ON COLUMN school.absence_alert_min IS 'The fewest pupils of a class absent with fever or 出席停止 on a school day that raise the 学級閉鎖 alert, whatever their share of the enrolment.';
COMMENT ON COLUMN school.absence_alert_percent IS 'A class whose pupils absent with fever or 出席停止 on a school day reach this share of its enrolment (class.enrolment), and at least absence_alert_min of them, raises an alert to the school''s administrators (学級閉鎖 figures).';

COMMIT;
