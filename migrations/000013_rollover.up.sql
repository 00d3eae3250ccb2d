BEGIN;

-- 年度更新: a school's move into the next school year. Staff prepare the new year's
-- classes, clubs and duties, mark the grades that graduate and the day the new year
-- starts; parents confirm their children's new class and clubs in March; on that day
-- the new year becomes current.
CREATE TABLE rollover (
    school_id   bigint NOT NULL REFERENCES school (id),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    graduating  smallint[] NOT NULL CHECK (graduating <@ '{1,2,3,4,5,6}'::smallint[]),
    switch_on   date NOT NULL,
    asked_at    timestamptz,
    switched_at timestamptz,
    PRIMARY KEY (school_id, year)
);
COMMENT ON TABLE rollover IS 'A school''s move into school year `year`: the grades that graduate, the day it becomes current (switch_on), when parents were asked to confirm, when it was done.';

-- A child's class and clubs in the next school year, as a guardian confirmed them.
CREATE TABLE child_next (
    child_id     bigint PRIMARY KEY REFERENCES child (id) ON DELETE CASCADE,
    class_id     bigint NOT NULL REFERENCES class (id),
    club_ids     bigint[] NOT NULL DEFAULT '{}',
    confirmed_by bigint REFERENCES guardian (id) ON DELETE SET NULL,
    confirmed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX child_next_class ON child_next (class_id);

ALTER TABLE parent_link DROP CONSTRAINT parent_link_purpose_check;
ALTER TABLE parent_link ADD CONSTRAINT parent_link_purpose_check CHECK (purpose IN ('register', 'update', 'absence', 'handouts', 'rollover'));

-- Why an announcement was cancelled: '' (by its sender) or 'rollover' (the school year
-- it was addressed in ended before it was sent).
ALTER TABLE announcement ADD COLUMN cancel_reason text NOT NULL DEFAULT '' CHECK (cancel_reason IN ('', 'rollover'));

-- Leaving (graduation, transfer) and the single-year registration of seed 001.
ALTER TABLE retention_policy
    ADD COLUMN delete_on_leave  boolean NOT NULL DEFAULT true,
    ADD COLUMN single_year      boolean NOT NULL DEFAULT false,
    ADD COLUMN single_year_done integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN retention_policy.delete_on_leave IS 'Delete a child''s data when they graduate or move away (seed 004). Off: registrations end, the data stays for the periods above.';
COMMENT ON COLUMN retention_policy.single_year IS 'Single-year registration (seed 001): at the end of March every registration of the board is deleted.';
COMMENT ON COLUMN retention_policy.single_year_done IS 'The school year whose single-year deletion last ran (it runs once, on the first night of the next year).';

COMMIT;
