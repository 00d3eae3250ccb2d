BEGIN;
DROP TABLE absence_report;
ALTER TABLE school DROP COLUMN absence_cutoff, DROP COLUMN absence_reasons, DROP COLUMN absence_symptoms, DROP COLUMN absence_notify,
    DROP COLUMN absence_alert_percent, DROP COLUMN absence_club_reasons;
COMMIT;
