BEGIN;

-- Boards of education and their schools. No personal data lives in these tables, so
-- nothing here is encrypted.
CREATE TABLE board (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE board IS 'A municipal board of education (教育委員会); the top of the tenancy tree.';

CREATE TABLE school (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id    bigint NOT NULL REFERENCES board (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    school_type text NOT NULL CHECK (school_type IN ('elementary', 'junior_high')),
    district    text NOT NULL DEFAULT '' CHECK (length(district) <= 100),
    time_zone   text NOT NULL DEFAULT 'Asia/Tokyo',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (board_id, name)
);
COMMENT ON COLUMN school.school_type IS 'elementary = 小学校, junior_high = 中学校.';
COMMENT ON COLUMN school.district IS 'School district (学区) used to address safety alerts.';

COMMIT;
