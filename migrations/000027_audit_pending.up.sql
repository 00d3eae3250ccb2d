BEGIN;

-- Audit events wait in audit_pending until they are sealed into the chain (issue #20,
-- target 5). A transaction that records an event inserts it here, with its work, and
-- takes no lock: before, every audited transaction locked the chain's head from its
-- append to its COMMIT, so all of them, across the whole database, followed one
-- another. Right after the commit, the same request seals: one transaction locks the
-- head, reads every pending row, and inserts them into audit_event linked and MACed
-- in order, for all the transactions that committed meanwhile (a group commit). A row
-- left pending by a crash is sealed by the next seal of any instance.
--
-- A pending row leaves only into the chain, unchanged: the server's role may only
-- insert and read it; each audit_event row names the pending row it seals
-- (pending_id), and inserting it deletes that row, which must hold the same content,
-- or the insert fails. No one may update or truncate pending rows, and a DELETE is
-- refused unless the chain holds the row that sealed it.
CREATE TABLE audit_pending (
    id           bigserial PRIMARY KEY,
    occurred_at  timestamptz NOT NULL,
    actor_kind   text NOT NULL CHECK (actor_kind IN ('staff', 'guardian', 'system', 'operator', 'anonymous')),
    actor_id     bigint,
    action       text NOT NULL CHECK (action ~ '^[a-z0-9_.]{3,80}$'),
    object_kind  text NOT NULL DEFAULT '' CHECK (length(object_kind) <= 40),
    object_id    text NOT NULL DEFAULT '' CHECK (length(object_id) <= 80),
    board_id     bigint,
    school_id    bigint,
    remote_addr  inet,
    detail       json NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE audit_pending IS 'Audit events committed and not yet sealed into audit_event''s chain (milliseconds, or until the next seal after a crash). Insert-only for the server; rows leave only into the chain.';

ALTER TABLE audit_event ADD COLUMN pending_id bigint;
COMMENT ON COLUMN audit_event.pending_id IS 'The audit_pending row this row sealed (NULL for a row appended directly); not part of the MAC.';
CREATE UNIQUE INDEX audit_event_pending ON audit_event (pending_id) WHERE pending_id IS NOT NULL;
COMMENT ON COLUMN audit_event.seq IS 'Position in the chain, assigned from audit_chain under its row lock: gap-free and in the order rows were appended (sealed).';

CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

CREATE FUNCTION audit_pending_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM public.audit_event e WHERE e.pending_id = OLD.id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_pending rows leave only by being sealed into audit_event'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_pending_no_delete BEFORE DELETE ON audit_pending
    FOR EACH ROW EXECUTE FUNCTION audit_pending_guard();

-- Sealing: the audit_event row inserted for a pending row removes it, as the owner
-- (the server's role may not delete), and only when both hold the same event.
CREATE FUNCTION audit_event_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    DELETE FROM public.audit_pending p
    WHERE p.id = NEW.pending_id
        AND p.occurred_at = NEW.occurred_at
        AND p.actor_kind = NEW.actor_kind
        AND p.actor_id IS NOT DISTINCT FROM NEW.actor_id
        AND p.action = NEW.action
        AND p.object_kind = NEW.object_kind
        AND p.object_id = NEW.object_id
        AND p.board_id IS NOT DISTINCT FROM NEW.board_id
        AND p.school_id IS NOT DISTINCT FROM NEW.school_id
        AND p.remote_addr IS NOT DISTINCT FROM NEW.remote_addr
        AND p.detail::text = NEW.detail::text;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit_event row % seals no pending event of the same content (pending %)', NEW.seq, NEW.pending_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_event_seal(), audit_pending_guard() FROM PUBLIC;
CREATE TRIGGER audit_event_seal AFTER INSERT ON audit_event
    FOR EACH ROW WHEN (NEW.pending_id IS NOT NULL) EXECUTE FUNCTION audit_event_seal();

-- A seal inserts many rows in one statement. 000015's row-level trigger moved the
-- head once per row, and updating one row many times in a transaction makes each
-- update slower than the last (a seal of 200 rows took 25 ms). The head now moves
-- once per statement, with the same rule: the statement's rows, in sequence order,
-- must continue the head (next sequence numbers, each linked to the MAC before it),
-- or the statement fails. (000015's function stays, for the down migration.)
DROP TRIGGER audit_event_append ON audit_event;
CREATE FUNCTION audit_event_append_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h_seq    bigint;
    h_mac    bytea;
    broken   bigint;
    last_seq bigint;
    last_mac bytea;
BEGIN
    SELECT c.head_seq, c.head_mac INTO h_seq, h_mac FROM public.audit_chain c FOR UPDATE;
    SELECT x.seq INTO broken FROM (
        SELECT r.seq, r.prev_mac, lag(r.mac) OVER (ORDER BY r.seq) AS mac_before,
            row_number() OVER (ORDER BY r.seq) AS k
        FROM appended r) x
    WHERE x.seq <> h_seq + x.k OR x.prev_mac IS DISTINCT FROM coalesce(x.mac_before, h_mac)
    ORDER BY x.seq LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'audit_event rows are appended at the head only (row % after head %)', broken, h_seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT r.seq, r.mac INTO last_seq, last_mac FROM appended r ORDER BY r.seq DESC LIMIT 1;
    IF FOUND THEN
        UPDATE public.audit_chain SET head_seq = last_seq, head_mac = last_mac;
    END IF;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION audit_event_append_rows() FROM PUBLIC;
CREATE TRIGGER audit_event_append AFTER INSERT ON audit_event
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_rows();

-- The grants again (000015's function), with the pending events: read and insert only.
CREATE OR REPLACE FUNCTION renraku_grant_app() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    GRANT USAGE ON SCHEMA public TO renraku_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO renraku_app;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO renraku_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO renraku_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO renraku_app;
    -- The audit log: read and append only; the chain row only through the functions.
    REVOKE ALL ON public.audit_event, public.audit_chain, public.audit_pending FROM renraku_app;
    GRANT SELECT, INSERT ON public.audit_event, public.audit_pending TO renraku_app;
    GRANT SELECT ON public.audit_chain TO renraku_app;
    GRANT EXECUTE ON FUNCTION public.audit_lock_head(), public.audit_retain(timestamptz) TO renraku_app;
    -- The schema version is the owner's to change; the server only checks it.
    REVOKE ALL ON public.schema_migrations FROM renraku_app;
    GRANT SELECT ON public.schema_migrations TO renraku_app;
END;
$$;
SELECT renraku_grant_app();

COMMIT;
