BEGIN;

-- LINE Messaging API channels. One channel may serve one school or several schools of a
-- board. The secret and access token are encrypted by the vault (AD: line_channel,
-- column, LINE channel ID).
CREATE TABLE line_channel (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    line_channel_id  text NOT NULL UNIQUE CHECK (line_channel_id ~ '^[0-9]{6,20}$'),
    board_id         bigint NOT NULL REFERENCES board (id),
    secret_enc       bytea NOT NULL,
    token_enc        bytea NOT NULL,
    login_channel_id text NOT NULL DEFAULT '' CHECK (login_channel_id ~ '^([0-9]{6,20})?$'),
    liff_id          text NOT NULL DEFAULT '' CHECK (length(liff_id) <= 64),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN line_channel.line_channel_id IS 'LINE''s channel ID (public, appears in the webhook URL).';
COMMENT ON COLUMN line_channel.login_channel_id IS 'LINE Login channel of the same provider, for LIFF ID-token verification.';

ALTER TABLE school ADD COLUMN line_channel_id bigint REFERENCES line_channel (id);
CREATE INDEX school_line_channel ON school (line_channel_id);

-- A LINE user who is (or was) a friend of a channel. The userId is personal data:
-- encrypted, and found by its blind index user_key.
CREATE TABLE line_friend (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id    bigint NOT NULL REFERENCES line_channel (id),
    user_key      bytea NOT NULL,
    user_id_enc   bytea NOT NULL,
    language      text NOT NULL DEFAULT '' CHECK (length(language) <= 16),
    following     boolean NOT NULL,
    richmenu_kind text NOT NULL DEFAULT '' CHECK (richmenu_kind IN ('', 'guest', 'member')),
    followed_at   timestamptz,
    unfollowed_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, user_key)
);
COMMENT ON COLUMN line_friend.user_key IS 'Blind index (keyed PRF) of the LINE userId; the userId itself is in user_id_enc.';
COMMENT ON COLUMN line_friend.following IS 'False after unfollow (block): nothing is pushed to them.';

-- Webhook events, stored before the webhook answers 200 and processed by a job.
CREATE TABLE line_event (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id       bigint NOT NULL REFERENCES line_channel (id),
    webhook_event_id text NOT NULL CHECK (length(webhook_event_id) BETWEEN 1 AND 64),
    event_type       text NOT NULL CHECK (length(event_type) <= 40),
    user_key         bytea,
    occurred_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    redelivered      boolean NOT NULL DEFAULT false,
    payload_enc      bytea,
    processed_at     timestamptz,
    outcome          text NOT NULL DEFAULT '' CHECK (length(outcome) <= 200),
    UNIQUE (channel_id, webhook_event_id)
);
COMMENT ON TABLE line_event IS 'Received webhook events. UNIQUE (channel, webhookEventId) makes redeliveries no-ops.';
COMMENT ON COLUMN line_event.payload_enc IS 'The event JSON, encrypted; wiped once processed (data minimisation).';
COMMENT ON COLUMN line_event.outcome IS 'ok, or a short code of why processing gave up; never personal data.';
CREATE INDEX line_event_pending ON line_event (channel_id, user_key, occurred_at, id) WHERE processed_at IS NULL;

-- Outbound messages: one row per message to one recipient, sent by a job.
CREATE SEQUENCE line_outbound_id_seq;
CREATE TABLE line_outbound (
    id              bigint PRIMARY KEY DEFAULT nextval('line_outbound_id_seq'),
    channel_id      bigint NOT NULL REFERENCES line_channel (id),
    friend_id       bigint NOT NULL REFERENCES line_friend (id) ON DELETE CASCADE,
    purpose         text NOT NULL CHECK (purpose ~ '^[a-z0-9_.]{2,40}$'),
    messages_enc    bytea NOT NULL,
    reply_token_enc bytea,
    reply_deadline  timestamptz,
    retry_key       uuid NOT NULL DEFAULT gen_random_uuid(),
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed', 'undeliverable')),
    method          text NOT NULL DEFAULT '' CHECK (method IN ('', 'reply', 'push')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '' CHECK (length(last_error) <= 300),
    line_request_id text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
ALTER SEQUENCE line_outbound_id_seq OWNED BY line_outbound.id;
COMMENT ON COLUMN line_outbound.retry_key IS 'X-Line-Retry-Key for push: a retry after a timeout cannot deliver twice.';
COMMENT ON COLUMN line_outbound.method IS 'reply (free) or push (counted in the monthly quota): the cost class.';
COMMENT ON COLUMN line_outbound.last_error IS 'LINE''s error message or a short code; never message content.';
CREATE INDEX line_outbound_friend ON line_outbound (friend_id, created_at);
CREATE INDEX line_outbound_month ON line_outbound (channel_id, sent_at) WHERE state = 'sent';

-- Rich menus created on LINE for a channel: the guest menu (登録する) and the member menu.
CREATE TABLE line_richmenu (
    channel_id  bigint NOT NULL REFERENCES line_channel (id),
    kind        text NOT NULL CHECK (kind IN ('guest', 'member')),
    richmenu_id text NOT NULL,
    spec_hash   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, kind)
);
COMMENT ON COLUMN line_richmenu.spec_hash IS 'Hash of the menu definition and image: sync recreates a menu only when it changed.';

COMMIT;
