BEGIN;

-- Notifications to staff (issue 18): their choices, their browsers' Web Push
-- subscriptions, the server's VAPID key pair and the grouping of what waits to be sent.
-- A notification says only what happened and where (a class or club and the duty, or
-- the school), never who: nothing here is personal data except the subscriptions'
-- endpoints and keys, which identify a browser and are encrypted.

CREATE TABLE notify_pref (
    staff_id     bigint PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    message      boolean NOT NULL DEFAULT true,
    absence      boolean NOT NULL DEFAULT true,
    registration boolean NOT NULL DEFAULT true,
    delivery     boolean NOT NULL DEFAULT true,
    window_start time,
    window_end   time,
    window_days  text CHECK (window_days ~ '^[0-6]{1,7}$'),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((window_start IS NULL) = (window_end IS NULL) AND (window_start IS NULL) = (window_days IS NULL)),
    CHECK (window_start IS NULL OR window_start <> window_end)
);
COMMENT ON TABLE notify_pref IS 'A member of staff''s notification choices; no row means the defaults (every kind on, the school''s office hours).';
COMMENT ON COLUMN notify_pref.window_start IS 'Start of the hours notifications may be sent (通知する時間帯), Asia/Tokyo; NULL follows the school''s office hours (board administrators: 08:00-17:00 Mon-Fri). A start after the end is a window across midnight.';
COMMENT ON COLUMN notify_pref.window_days IS 'Weekdays the window opens on, as digits (0 = Sunday … 6 = Saturday); a window across midnight belongs to the day it opens.';

CREATE TABLE push_subscription (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    endpoint_key bytea NOT NULL UNIQUE,
    endpoint_enc bytea NOT NULL,
    keys_enc     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE push_subscription IS 'A browser''s Web Push subscription (RFC 8030) for one member of staff; removed when the push service answers 404 or 410, when the account is disabled and on sign-out everywhere.';
COMMENT ON COLUMN push_subscription.endpoint_key IS 'Blind index (keyed PRF) of the endpoint URL: one row per browser; a browser subscribed again by another account moves to it.';
COMMENT ON COLUMN push_subscription.endpoint_enc IS 'The push service URL, encrypted by the vault (AD: push_subscription, endpoint, hex of endpoint_key).';
COMMENT ON COLUMN push_subscription.keys_enc IS 'The browser''s P-256 key and auth secret (JSON), encrypted by the vault (AD: push_subscription, keys, hex of endpoint_key).';
CREATE INDEX push_subscription_staff ON push_subscription (staff_id);

CREATE TABLE vapid_key (
    id          smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    public_key  text NOT NULL,
    private_enc bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE vapid_key IS 'The server''s VAPID key pair (RFC 8292), made by `renraku keys vapid`; without a row Web Push is off.';
COMMENT ON COLUMN vapid_key.public_key IS 'Uncompressed P-256 public key, base64url: browsers subscribe with it (public by design).';
COMMENT ON COLUMN vapid_key.private_enc IS 'The private key (base64url), encrypted by the vault (AD: vapid_key, private, 1).';

CREATE TABLE notify_pending (
    staff_id     bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('message', 'absence', 'registration', 'delivery')),
    count        integer NOT NULL DEFAULT 0 CHECK (count >= 0),
    places       jsonb NOT NULL DEFAULT '[]',
    due_at       timestamptz,
    last_sent_at timestamptz,
    PRIMARY KEY (staff_id, kind)
);
COMMENT ON TABLE notify_pending IS 'Events waiting to be sent as one notification per person and kind (at most one a minute, and only inside their window).';
COMMENT ON COLUMN notify_pending.places IS 'Where the waiting events happened: [{"label": "1年1組 担任", "link": "/staff/inbox"}], no personal data.';
COMMENT ON COLUMN notify_pending.due_at IS 'When the send job queued for this row runs; NULL when none is queued.';

COMMIT;
