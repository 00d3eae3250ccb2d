BEGIN;

COMMENT ON COLUMN school.absence_alert_percent IS 'A class whose registered children absent with fever or 出席停止 on one day reach this share raises an alert to the school''s administrators (学級閉鎖 figures).';
ALTER TABLE school DROP COLUMN absence_alert_min;
ALTER TABLE class DROP COLUMN enrolment;

COMMIT;
