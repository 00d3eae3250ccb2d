BEGIN;

-- The audit log: who did what to which record, when and from where. Append-only for
-- everyone (the triggers below), and each row carries a MAC chained to the row before
-- it, keyed with a secret kept outside the database, so that a change, a removal or
-- an insertion by anyone who bypasses the triggers is found by `renraku audit verify`.
CREATE TABLE audit_event (
    seq          bigint PRIMARY KEY CHECK (seq > 0),
    occurred_at  timestamptz NOT NULL,
    actor_kind   text NOT NULL CHECK (actor_kind IN ('staff', 'guardian', 'system', 'operator')),
    actor_id     bigint,
    action       text NOT NULL CHECK (action ~ '^[a-z0-9_.]{3,80}$'),
    object_kind  text NOT NULL DEFAULT '' CHECK (length(object_kind) <= 40),
    object_id    text NOT NULL DEFAULT '' CHECK (length(object_id) <= 80),
    board_id     bigint,
    school_id    bigint,
    remote_addr  inet,
    detail       json NOT NULL DEFAULT '{}',
    prev_mac     bytea NOT NULL,
    mac          bytea NOT NULL
);
COMMENT ON TABLE audit_event IS 'Append-only, MAC-chained audit log (P5). Never holds personal data: actors and objects are internal IDs; detail holds counts and codes.';
COMMENT ON COLUMN audit_event.seq IS 'Position in the chain, assigned from audit_chain under its row lock: gap-free and in commit order.';
COMMENT ON COLUMN audit_event.detail IS 'json, not jsonb: the exact text is part of the MAC input.';
COMMENT ON COLUMN audit_event.mac IS 'PRF(chain key, prev_mac || canonical encoding of the row); the chain key is in the keyset file, not in the database.';

CREATE INDEX audit_event_occurred_at ON audit_event (occurred_at);
CREATE INDEX audit_event_school ON audit_event (school_id, occurred_at);
CREATE INDEX audit_event_actor ON audit_event (actor_kind, actor_id, occurred_at);

-- The chain's two ends: the head (last row written) and the anchor (last row removed by
-- retention, whose MAC the first remaining row must link to). One row only.
CREATE TABLE audit_chain (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    head_seq     bigint NOT NULL DEFAULT 0,
    head_mac     bytea NOT NULL DEFAULT '\x'::bytea,
    anchor_seq   bigint NOT NULL DEFAULT 0,
    anchor_mac   bytea NOT NULL DEFAULT '\x'::bytea
);
INSERT INTO audit_chain DEFAULT VALUES;
COMMENT ON TABLE audit_chain IS 'Head and retention anchor of the audit chain. Writers lock this row, which orders the chain.';

-- Append-only: no UPDATE, no TRUNCATE, and DELETE only of rows at or below the anchor,
-- which retention advances first (and which may only move forward).
CREATE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.seq <= (SELECT anchor_seq FROM audit_chain) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_event is append-only: rows are removed only by retention, below the anchor'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only (% on % refused)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_guard();
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_guard();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

CREATE FUNCTION audit_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.anchor_seq < OLD.anchor_seq OR NEW.head_seq < OLD.head_seq THEN
        RAISE EXCEPTION 'audit_chain only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.anchor_seq > NEW.head_seq THEN
        RAISE EXCEPTION 'audit anchor beyond head' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.anchor_seq <> OLD.anchor_seq AND NEW.anchor_mac IS DISTINCT FROM
        (SELECT mac FROM audit_event WHERE seq = NEW.anchor_seq) THEN
        RAISE EXCEPTION 'audit anchor must name an existing row and its MAC' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE OR TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

COMMIT;
