BEGIN;

-- Days a school is closed besides weekends (祝日, 創立記念日, 振替休業日, 臨時休校 …), as its
-- administrators mark them. The parent's absence form defaults to the next school day
-- after the cut-off, skipping weekends and these days.
CREATE TABLE school_closed_day (
    school_id  bigint NOT NULL REFERENCES school (id) ON DELETE CASCADE,
    day        date NOT NULL,
    note       text NOT NULL DEFAULT '' CHECK (length(note) <= 40),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, day)
);
COMMENT ON TABLE school_closed_day IS 'Days a school marks closed (no classes) besides Saturdays and Sundays; no personal data.';
COMMENT ON COLUMN school_closed_day.note IS 'What the day is, as the school names it (e.g. 創立記念日), shown in the console only.';

COMMIT;
