BEGIN;

-- School details the console edits. None of it is personal data.
ALTER TABLE school
    ADD COLUMN website_url   text NOT NULL DEFAULT '' CHECK (length(website_url) <= 300),
    ADD COLUMN club_site_url text NOT NULL DEFAULT '' CHECK (length(club_site_url) <= 300),
    ADD COLUMN phone         text NOT NULL DEFAULT '' CHECK (length(phone) <= 30),
    ADD COLUMN office_open   time NOT NULL DEFAULT '08:00',
    ADD COLUMN office_close  time NOT NULL DEFAULT '17:00',
    ADD COLUMN office_days   text NOT NULL DEFAULT '12345' CHECK (office_days ~ '^[0-6]{0,7}$'),
    ADD COLUMN auto_reply    text NOT NULL DEFAULT '' CHECK (length(auto_reply) <= 500),
    ADD COLUMN current_year  integer NOT NULL
        DEFAULT extract(year FROM (now() AT TIME ZONE 'Asia/Tokyo') - interval '3 months')::integer CHECK (current_year BETWEEN 2000 AND 2200),
    ADD COLUMN teacher_totp  boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN school.office_days IS 'Weekdays the office answers, as digits (0 = Sunday … 6 = Saturday).';
COMMENT ON COLUMN school.current_year IS 'The school year (年度, April–March, named by the year it starts) whose classes and duties are in force.';
COMMENT ON COLUMN school.teacher_totp IS 'Whether teachers must use a second factor; administrators always must. Switching it off is audited.';

CREATE TABLE class (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id   bigint NOT NULL REFERENCES school (id),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    grade       smallint NOT NULL CHECK (grade BETWEEN 1 AND 6),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 10),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, year, grade, name)
);
COMMENT ON TABLE class IS 'A class (学級) of one school year, shown as 1年1組 or 1年A組: the school names it.';

CREATE TABLE club (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id   bigint NOT NULL REFERENCES school (id),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2200),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 30),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, year, name)
);
COMMENT ON TABLE club IS 'A club (部活動) of one school year.';

-- Staff accounts. Names and login IDs are personal data: encrypted, with a blind index
-- for finding an account by login ID.
CREATE TABLE staff (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id        bigint NOT NULL REFERENCES board (id),
    school_id       bigint REFERENCES school (id),
    role            text NOT NULL CHECK (role IN ('board_admin', 'school_admin', 'teacher')),
    login_key       bytea NOT NULL UNIQUE,
    login_enc       bytea NOT NULL,
    name_enc        bytea NOT NULL,
    password_hash   text,
    password_set_at timestamptz,
    totp_secret_enc bytea,
    totp_pending_enc bytea,
    totp_last_step  bigint NOT NULL DEFAULT 0,
    recovery_hashes text[] NOT NULL DEFAULT '{}',
    session_epoch   integer NOT NULL DEFAULT 0,
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'board_admin') = (school_id IS NULL))
);
COMMENT ON COLUMN staff.login_key IS 'Blind index (keyed PRF) of the lower-cased login ID.';
COMMENT ON COLUMN staff.session_epoch IS 'Sessions carry the epoch they began in; raising it ends every session of the account (sign out everywhere, password change).';
COMMENT ON COLUMN staff.totp_pending_enc IS 'A TOTP secret shown for enrolment, kept until the person confirms it with a code.';
COMMENT ON COLUMN staff.recovery_hashes IS 'SHA-256 of unused second-factor recovery codes; a used code is removed.';
CREATE INDEX staff_school ON staff (school_id);

CREATE TABLE staff_assignment (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id    bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    school_id   bigint NOT NULL REFERENCES school (id),
    year        integer NOT NULL,
    duty        text NOT NULL CHECK (duty IN ('homeroom', 'sub_homeroom', 'advisor', 'office')),
    class_id    bigint REFERENCES class (id) ON DELETE CASCADE,
    club_id     bigint REFERENCES club (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE duty WHEN 'advisor' THEN club_id IS NOT NULL AND class_id IS NULL
                     WHEN 'office' THEN club_id IS NULL AND class_id IS NULL
                     ELSE class_id IS NOT NULL AND club_id IS NULL END),
    UNIQUE NULLS NOT DISTINCT (staff_id, year, duty, class_id, club_id)
);
COMMENT ON TABLE staff_assignment IS 'A duty (担任, 副担任, 顧問, 学校宛て連絡) of a staff member in one school year; access to class and club data follows it.';
CREATE INDEX staff_assignment_class ON staff_assignment (class_id);
CREATE INDEX staff_assignment_club ON staff_assignment (club_id);

-- One-time sign-in links (first password, reset). Only a hash of the token is kept.
CREATE TABLE staff_signin_token (
    token_hash  bytea PRIMARY KEY,
    staff_id    bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_signin_token_staff ON staff_signin_token (staff_id);

-- Failed sign-ins per account and per client address, both as blind indexes, for
-- lockout with back-off and rate limiting shared by every app instance.
CREATE TABLE signin_throttle (
    key           bytea PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    window_start  timestamptz NOT NULL,
    blocked_until timestamptz
);

-- Browser sessions (alexedwards/scs). The token is stored only as its SHA-256.
CREATE TABLE staff_session (
    token_hash  bytea PRIMARY KEY,
    data        bytea NOT NULL,
    expiry      timestamptz NOT NULL
);
CREATE INDEX staff_session_expiry ON staff_session (expiry);

ALTER TABLE audit_event DROP CONSTRAINT audit_event_actor_kind_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_actor_kind_check
    CHECK (actor_kind IN ('staff', 'guardian', 'system', 'operator', 'anonymous'));

COMMIT;
