BEGIN;
DROP TABLE absence_report;
ALTER TABLE school DROP COLUMN absence_cutoff, DROP COLUMN absence_reasons, DROP COLUMN absence_symptoms, DROP COLUMN absence_notify;
COMMIT;
