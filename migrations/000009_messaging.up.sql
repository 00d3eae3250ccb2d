BEGIN;

-- 連絡する: a parent's conversation with the staff a duty routes it to — the homeroom
-- teacher of a child's class, the advisor of a child's club, or the school office.
CREATE TABLE conversation (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id       bigint NOT NULL REFERENCES school (id),
    guardian_id     bigint NOT NULL REFERENCES guardian (id) ON DELETE CASCADE,
    child_id        bigint REFERENCES child (id) ON DELETE CASCADE,
    target          text NOT NULL CHECK (target IN ('homeroom', 'advisor', 'office')),
    class_id        bigint REFERENCES class (id),
    club_id         bigint REFERENCES club (id),
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'in_progress', 'done')),
    assignee_id     bigint REFERENCES staff (id) ON DELETE SET NULL,
    unread          integer NOT NULL DEFAULT 0,
    last_message_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (CASE target WHEN 'homeroom' THEN class_id IS NOT NULL AND child_id IS NOT NULL
                       WHEN 'advisor' THEN club_id IS NOT NULL AND child_id IS NOT NULL
                       ELSE class_id IS NULL AND club_id IS NULL END),
    UNIQUE NULLS NOT DISTINCT (guardian_id, target, child_id, class_id, club_id)
);
-- Inbox lists are newest first with the ID as tie-break, per school, class, club and
-- the office.
CREATE INDEX conversation_school ON conversation (school_id, last_message_at DESC, id DESC);
CREATE INDEX conversation_class ON conversation (class_id, last_message_at DESC, id DESC);
CREATE INDEX conversation_club ON conversation (club_id, last_message_at DESC, id DESC);
CREATE INDEX conversation_office ON conversation (school_id, last_message_at DESC, id DESC) WHERE target = 'office';

-- Messages of a conversation: the parent's (in) and the staff's replies (out, sent
-- through the LINE outbox). Bodies are encrypted.
CREATE TABLE message (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    direction       text NOT NULL CHECK (direction IN ('in', 'out', 'note')),
    body_enc        bytea NOT NULL,
    kind            text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'image', 'sticker')),
    line_message_id text NOT NULL DEFAULT '' CHECK (line_message_id ~ '^[0-9]{0,32}$'),
    content_enc     bytea,
    content_type    text NOT NULL DEFAULT '' CHECK (content_type IN ('', 'image/jpeg', 'image/png', 'image/gif', 'image/webp')),
    content_state   text NOT NULL DEFAULT '' CHECK (content_state IN ('', 'pending', 'stored', 'unavailable')),
    staff_id        bigint REFERENCES staff (id),
    outbound_id     bigint REFERENCES line_outbound (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_conversation ON message (conversation_id, id);
COMMENT ON COLUMN message.content_enc IS 'An image a parent sent, downloaded from LINE at once (LINE discards content) and encrypted.';

COMMENT ON COLUMN message.direction IS 'in: the parent''s; out: a staff reply sent in LINE; note: a private staff note, never sent.';
COMMENT ON COLUMN conversation.assignee_id IS 'Who on the staff is handling it (hand-over); everyone whose duty covers it still sees it.';

-- 定型文: canned replies of a school (staff_id NULL) or of one staff member.
CREATE TABLE canned_reply (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    school_id  bigint NOT NULL REFERENCES school (id),
    staff_id   bigint REFERENCES staff (id) ON DELETE CASCADE,
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 40),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE canned_reply IS 'Reply templates written by staff (no personal data: names are typed into the reply, not the template).';
CREATE INDEX canned_reply_school ON canned_reply (school_id);

-- Where a parent's next message goes, and when they chose it.
ALTER TABLE guardian
    ADD COLUMN conversation_id  bigint REFERENCES conversation (id) ON DELETE SET NULL,
    ADD COLUMN conversation_at  timestamptz;

-- How long a parent's choice of conversation lasts: after it, their next message asks
-- again whom it is for.
ALTER TABLE school
    ADD COLUMN inbox_inactivity_hours integer NOT NULL DEFAULT 72 CHECK (inbox_inactivity_hours BETWEEN 1 AND 720);

-- The out-of-hours auto-reply goes once per conversation per day.
CREATE TABLE auto_reply_day (
    conversation_id bigint NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    day             date NOT NULL,
    PRIMARY KEY (conversation_id, day)
);

COMMIT;
