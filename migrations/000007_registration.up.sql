BEGIN;

-- Class registration codes: printed on a letter the school hands out; a parent who
-- enters the right one is verified without waiting for the teacher. Staff can show the
-- code again, so it is encrypted (not hashed); it is found by its blind index.
CREATE TABLE class_code (
    class_id    bigint PRIMARY KEY REFERENCES class (id) ON DELETE CASCADE,
    code_key    bytea NOT NULL UNIQUE,
    code_enc    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A guardian (保護者) is a LINE friend who registered. Personal fields are encrypted;
-- the LINE user ID stays in line_friend (encrypted, with its blind index).
CREATE TABLE guardian (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    friend_id        bigint NOT NULL UNIQUE REFERENCES line_friend (id),
    name_enc         bytea NOT NULL,
    relationship_enc bytea NOT NULL,
    nickname_enc     bytea NOT NULL,
    language         text NOT NULL DEFAULT 'ja' CHECK (language ~ '^[a-z]{2}(-[A-Za-z]{2,4})?$'),
    consent_version  integer NOT NULL CHECK (consent_version > 0),
    consented_at     timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE guardian IS 'A registered parent. Active while the LINE friend follows the account (line_friend.following); re-following restores them.';

-- A child (児童生徒). Two guardians registering the same child in the same class (same
-- name, found by the blind index) share one child row.
CREATE TABLE child (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id   bigint NOT NULL REFERENCES school (id),
    class_id    bigint NOT NULL REFERENCES class (id),
    name_enc    bytea NOT NULL,
    name_key    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (class_id, name_key)
);
COMMENT ON COLUMN child.name_key IS 'Blind index of the class and the normalised name: finds the same child registered by a second guardian.';

CREATE TABLE child_club (
    child_id  bigint NOT NULL REFERENCES child (id) ON DELETE CASCADE,
    club_id   bigint NOT NULL REFERENCES club (id) ON DELETE CASCADE,
    PRIMARY KEY (child_id, club_id)
);

-- Who is whose guardian, and whether the school has verified it (by class code or by
-- the homeroom teacher's approval).
CREATE TABLE guardianship (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    guardian_id  bigint NOT NULL REFERENCES guardian (id) ON DELETE CASCADE,
    child_id     bigint NOT NULL REFERENCES child (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('pending', 'verified', 'rejected')),
    method       text NOT NULL DEFAULT '' CHECK (method IN ('', 'code', 'approval')),
    decided_by   bigint REFERENCES staff (id),
    decided_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (guardian_id, child_id)
);
CREATE INDEX guardianship_child ON guardianship (child_id);

-- Links sent to a parent in LINE. Only a hash of the token's nonce is kept; the first
-- browser to open a link is bound to it (a hash of a cookie), so a forwarded link is
-- useless to anyone else.
CREATE TABLE parent_link (
    nonce_hash    bytea PRIMARY KEY,
    friend_id     bigint NOT NULL REFERENCES line_friend (id) ON DELETE CASCADE,
    purpose       text NOT NULL CHECK (purpose IN ('register', 'update', 'absence')),
    expires_at    timestamptz NOT NULL,
    browser_hash  bytea,
    liff_verified boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN parent_link.liff_verified IS 'The browser proved, with a LIFF ID token verified at LINE, that it belongs to the link''s LINE user.';
CREATE INDEX parent_link_friend ON parent_link (friend_id);

-- What was deleted, when and why: never personal data. Certificates of deletion are
-- printed from these rows.
CREATE TABLE deletion_record (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    board_id     bigint REFERENCES board (id),
    school_id    bigint REFERENCES school (id),
    category     text NOT NULL CHECK (length(category) BETWEEN 1 AND 40),
    count        integer NOT NULL CHECK (count >= 0),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 40),
    policy       text NOT NULL DEFAULT '' CHECK (length(policy) <= 80)
);
COMMENT ON TABLE deletion_record IS 'A deletion: category (guardian, child, …), how many, why (withdrawal, graduation, retention …), under which policy. No personal data.';

COMMIT;
