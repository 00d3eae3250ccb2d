BEGIN;

-- Surveys (アンケート) and attendance checks (出欠確認) answered in LINE (issue 19).
-- A survey is addressed as announcements are; its questions, title and explanation are
-- encrypted (a question may name a child or a health matter). It is answered per child
-- (each sibling separately) or per family (each registered guardian once).

CREATE TABLE survey (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id       bigint NOT NULL REFERENCES board (id),
    school_id      bigint REFERENCES school (id),
    kind           text NOT NULL CHECK (kind IN ('survey', 'attendance')),
    audience       jsonb NOT NULL,
    audience_label text NOT NULL CHECK (length(audience_label) BETWEEN 1 AND 400),
    title_enc      bytea NOT NULL,
    body_enc       bytea NOT NULL,
    questions_enc  bytea NOT NULL,
    per_child      boolean NOT NULL,
    sensitive      boolean NOT NULL DEFAULT false,
    deadline       timestamptz NOT NULL,
    auto_remind    boolean NOT NULL DEFAULT false,
    state          text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled')),
    cancel_reason  text NOT NULL DEFAULT '' CHECK (cancel_reason IN ('', 'rollover')),
    scheduled_at   timestamptz,
    started_at     timestamptz,
    finished_at    timestamptz,
    first_answer_at timestamptz,
    reminded_at    timestamptz,
    created_by     bigint NOT NULL REFERENCES staff (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX survey_school ON survey (school_id, created_at DESC);
CREATE INDEX survey_board ON survey (board_id, created_at DESC);
CREATE INDEX survey_deadline ON survey (deadline) WHERE state IN ('sending', 'sent');
COMMENT ON COLUMN survey.questions_enc IS 'The questions (JSON: kind, text, choices, limits, required), encrypted by the vault (AD: survey, questions, id).';
COMMENT ON COLUMN survey.sensitive IS 'Has a consent question: answers may carry health details, so only the homeroom teachers of the children and administrators see them.';
COMMENT ON COLUMN survey.first_answer_at IS 'The first answer: from then on the wording can no longer be edited.';

-- Handouts (PDF) of a survey, stored like an announcement's.
CREATE TABLE survey_handout (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    survey_id   bigint NOT NULL REFERENCES survey (id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position BETWEEN 1 AND 5),
    name_enc    bytea NOT NULL,
    size_bytes  integer NOT NULL CHECK (size_bytes > 0),
    sha256      bytea NOT NULL,
    storage_key text NOT NULL UNIQUE CHECK (storage_key ~ '^[a-z0-9/_-]{8,100}$'),
    UNIQUE (survey_id, position)
);

-- What is answered: one row per child of the audience (per child) or per guardian (per
-- family), with the class it is counted under. The answers and the draft are encrypted
-- JSON (AD: survey_unit, answers|draft, id).
CREATE TABLE survey_unit (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    survey_id    bigint NOT NULL REFERENCES survey (id) ON DELETE CASCADE,
    child_id     bigint REFERENCES child (id) ON DELETE CASCADE,
    guardian_id  bigint REFERENCES guardian (id) ON DELETE CASCADE,
    school_id    bigint NOT NULL REFERENCES school (id),
    class_id     bigint NOT NULL REFERENCES class (id),
    answers_enc  bytea,
    answered_at  timestamptz,
    answered_by  bigint REFERENCES guardian (id) ON DELETE SET NULL,
    draft_enc    bytea,
    reminded_at  timestamptz,
    CHECK ((child_id IS NULL) <> (guardian_id IS NULL)),
    CHECK ((answers_enc IS NULL) = (answered_at IS NULL))
);
CREATE UNIQUE INDEX survey_unit_child ON survey_unit (survey_id, child_id) WHERE child_id IS NOT NULL;
CREATE UNIQUE INDEX survey_unit_guardian ON survey_unit (survey_id, guardian_id) WHERE guardian_id IS NOT NULL;
CREATE INDEX survey_unit_class ON survey_unit (class_id);
CREATE INDEX survey_unit_child_id ON survey_unit (child_id) WHERE child_id IS NOT NULL;
CREATE INDEX survey_unit_guardian_id ON survey_unit (guardian_id) WHERE guardian_id IS NOT NULL;

-- Who a survey was sent to: each guardian once (however many children), with the
-- message queued for them (its LINE retry key makes a resumed send safe).
CREATE TABLE survey_recipient (
    survey_id   bigint NOT NULL REFERENCES survey (id) ON DELETE CASCADE,
    guardian_id bigint NOT NULL REFERENCES guardian (id) ON DELETE CASCADE,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'skipped')),
    outbound_id bigint,
    reminded_at timestamptz,
    PRIMARY KEY (survey_id, guardian_id)
);
CREATE INDEX survey_recipient_guardian ON survey_recipient (guardian_id);

-- The parent's survey form opens through a personal link.
ALTER TABLE parent_link DROP CONSTRAINT parent_link_purpose_check;
ALTER TABLE parent_link ADD CONSTRAINT parent_link_purpose_check CHECK (purpose IN ('register', 'update', 'absence', 'handouts', 'rollover', 'survey'));

-- How long answers are kept (their own category on the retention page).
ALTER TABLE retention_policy
    ADD COLUMN survey_days integer NOT NULL DEFAULT 365 CHECK (survey_days BETWEEN 30 AND 3650);

COMMIT;
