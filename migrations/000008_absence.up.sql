BEGIN;

-- How a school takes absence reports.
ALTER TABLE school
    ADD COLUMN absence_cutoff   time NOT NULL DEFAULT '08:00',
    ADD COLUMN absence_reasons  text[] NOT NULL DEFAULT '{illness,hospital,family,bereavement,suspension,other}',
    ADD COLUMN absence_symptoms text[] NOT NULL DEFAULT '{fever,headache,stomachache,cough,vomiting,other}',
    ADD COLUMN absence_notify   boolean NOT NULL DEFAULT false,
    ADD COLUMN absence_alert_percent integer NOT NULL DEFAULT 20 CHECK (absence_alert_percent BETWEEN 1 AND 100),
    ADD COLUMN absence_club_reasons  boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN school.absence_alert_percent IS 'A class whose registered children absent with fever or 出席停止 on one day reach this share raises an alert to the school''s administrators (学級閉鎖 figures).';
COMMENT ON COLUMN school.absence_club_reasons IS 'Whether club advisors see the reason of their members'' absences.';
COMMENT ON COLUMN school.absence_cutoff IS 'After this time a report for today may not reach the teacher before homeroom: the form says so and shows the phone number.';
COMMENT ON COLUMN school.absence_notify IS 'Whether parents get a LINE message when their report is acknowledged (it costs LINE messages).';

-- 欠席・遅刻・早退の連絡. Reason, symptoms, temperature, times and the note are health
-- and family information: one encrypted JSON document.
CREATE TABLE absence_report (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    child_id        bigint NOT NULL REFERENCES child (id) ON DELETE CASCADE,
    guardian_id     bigint REFERENCES guardian (id) ON DELETE SET NULL,
    school_id       bigint NOT NULL REFERENCES school (id),
    class_id        bigint NOT NULL REFERENCES class (id),
    kind            text NOT NULL CHECK (kind IN ('absent', 'late', 'early')),
    date_from       date NOT NULL,
    date_to         date NOT NULL,
    detail_enc      bytea NOT NULL,
    status          text NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'acknowledged', 'cancelled')),
    revision        integer NOT NULL DEFAULT 1,
    submit_key      bytea NOT NULL UNIQUE,
    acknowledged_by bigint REFERENCES staff (id),
    acknowledged_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (date_to >= date_from AND date_to - date_from <= 30)
);
COMMENT ON COLUMN absence_report.submit_key IS 'Hash of the form''s one-time key: a double tap stores one report.';
COMMENT ON COLUMN absence_report.revision IS 'Raised when the parent corrects the report (a second report for the same child and day).';
CREATE INDEX absence_report_class_day ON absence_report (class_id, date_from, date_to);
CREATE INDEX absence_report_child ON absence_report (child_id, date_from);

COMMIT;
