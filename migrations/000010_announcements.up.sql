BEGIN;

-- The largest handout a board accepts (default 10 MB).
ALTER TABLE board
    ADD COLUMN handout_max_bytes integer NOT NULL DEFAULT 10485760 CHECK (handout_max_bytes BETWEEN 1048576 AND 52428800);

-- Parents open their handouts (配布プリント) through a personal link.
ALTER TABLE parent_link DROP CONSTRAINT parent_link_purpose_check;
ALTER TABLE parent_link ADD CONSTRAINT parent_link_purpose_check CHECK (purpose IN ('register', 'update', 'absence', 'handouts'));

-- An announcement (お知らせ) or safety alert (安全情報) to an audience: a school, grades,
-- classes or clubs of it, or (the board's) several schools or districts. The audience
-- holds IDs, grade numbers and district names only; title and body are encrypted (a
-- text may name a child).
CREATE TABLE announcement (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id       bigint NOT NULL REFERENCES board (id),
    school_id      bigint REFERENCES school (id),
    kind           text NOT NULL CHECK (kind IN ('notice', 'safety')),
    audience       jsonb NOT NULL,
    audience_label text NOT NULL CHECK (length(audience_label) BETWEEN 1 AND 400),
    title_enc      bytea NOT NULL,
    body_enc       bytea NOT NULL,
    names_child    boolean NOT NULL DEFAULT false,
    consent        boolean NOT NULL DEFAULT false,
    state          text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    scheduled_at   timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    created_by     bigint NOT NULL REFERENCES staff (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT names_child OR consent)
);
CREATE INDEX announcement_school ON announcement (school_id, created_at DESC);
CREATE INDEX announcement_board ON announcement (board_id, created_at DESC);
COMMENT ON COLUMN announcement.names_child IS 'The text names a child: sent only with the consent the sender confirmed (seed 001).';

-- Handouts (PDF) of an announcement. The bytes live in the file store (file_blob by
-- default); the name is encrypted.
CREATE TABLE handout (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    announcement_id bigint NOT NULL REFERENCES announcement (id) ON DELETE CASCADE,
    position        smallint NOT NULL CHECK (position BETWEEN 1 AND 5),
    name_enc        bytea NOT NULL,
    size_bytes      integer NOT NULL CHECK (size_bytes > 0),
    sha256          bytea NOT NULL,
    storage_key     text NOT NULL UNIQUE CHECK (storage_key ~ '^[a-z0-9/_-]{8,100}$'),
    UNIQUE (announcement_id, position)
);

-- The default file store: encrypted files in PostgreSQL, no extra service needed.
CREATE TABLE file_blob (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9/_-]{8,100}$'),
    data_enc   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One LINE multicast request: up to 500 friends of one channel, with the retry key
-- that makes a repeated attempt safe (LINE answers 409 for a key it accepted).
CREATE TABLE announcement_batch (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    announcement_id bigint NOT NULL REFERENCES announcement (id) ON DELETE CASCADE,
    channel_id      bigint NOT NULL REFERENCES line_channel (id),
    language        text NOT NULL DEFAULT 'ja',
    retry_key       uuid NOT NULL DEFAULT gen_random_uuid(),
    recipients      integer NOT NULL CHECK (recipients BETWEEN 1 AND 500),
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 300),
    line_request_id text NOT NULL DEFAULT '',
    sent_at         timestamptz
);
CREATE INDEX announcement_batch_announcement ON announcement_batch (announcement_id);

-- Who an announcement went to: one row per guardian (a guardian of two children in the
-- audience gets it once), with delivery and whether they opened it (既読).
CREATE TABLE announcement_recipient (
    announcement_id bigint NOT NULL REFERENCES announcement (id) ON DELETE CASCADE,
    guardian_id     bigint NOT NULL REFERENCES guardian (id) ON DELETE CASCADE,
    -- The guardian's friend and channel when resolved (copied, not referenced: a
    -- city-wide alert writes 50,000 rows at once, and the guardian's own reference
    -- already ties them).
    friend_id       bigint NOT NULL,
    channel_id      bigint NOT NULL,
    batch_id        bigint REFERENCES announcement_batch (id) ON DELETE SET NULL,
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed', 'skipped')),
    opened_at       timestamptz,
    opens           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (announcement_id, guardian_id)
);
CREATE INDEX announcement_recipient_batch ON announcement_recipient (batch_id);
CREATE INDEX announcement_recipient_guardian ON announcement_recipient (guardian_id, announcement_id DESC);
COMMENT ON COLUMN announcement_recipient.state IS 'skipped: the guardian had blocked the account when the audience was resolved.';

COMMIT;
