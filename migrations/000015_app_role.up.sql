BEGIN;

-- Role separation (issue #15, item 6). Migrations run as the owner of every table; the
-- server runs as a login role that is a member of renraku_app, which may read and write
-- every table but may only read and append to the audit log. Because it owns nothing,
-- it cannot disable the audit triggers, delete or rewrite audit rows, or rewind the
-- chain's head: what it needs beyond INSERT and SELECT goes through the narrow
-- SECURITY DEFINER functions below, owned by the owner.
--
-- Roles belong to the whole cluster, so the group role is created only when missing
-- (another database of the same cluster may have made it). An owner without CREATEROLE
-- needs an administrator to run `CREATE ROLE renraku_app NOLOGIN` first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'renraku_app') THEN
        CREATE ROLE renraku_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- created at the same moment by a migration of another database
END
$$;
COMMENT ON ROLE renraku_app IS 'renraku server: full DML on its tables, INSERT and SELECT only on the audit log. Login roles of the server are members of it.';

-- The functions below run as the owner, with a fixed search_path: pg_catalog first, so
-- nothing can shadow a built-in; public because 000004's guard triggers, which fire
-- inside them, name the audit tables unqualified (and the server's role may not create
-- objects in it: PostgreSQL 15 grants no CREATE on public, and renraku_app gets none).

-- The chain's head is locked for an append through this function, because locking a
-- row (FOR UPDATE) needs UPDATE on its table, which the server no longer has.
CREATE FUNCTION audit_lock_head(OUT head_seq bigint, OUT head_mac bytea)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.head_seq, c.head_mac FROM public.audit_chain c FOR UPDATE
$$;
COMMENT ON FUNCTION audit_lock_head() IS 'Locks the audit chain for one append and returns its head; only reads, so it cannot move the head.';

-- The head advances with each inserted row and only by that row: the row must follow
-- the head (next sequence number, linked to the head's MAC). So whoever may insert can
-- extend the chain but never rewind it.
CREATE FUNCTION audit_event_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    h_seq bigint;
    h_mac bytea;
BEGIN
    SELECT c.head_seq, c.head_mac INTO h_seq, h_mac FROM public.audit_chain c FOR UPDATE;
    IF NEW.seq <> h_seq + 1 OR NEW.prev_mac IS DISTINCT FROM h_mac THEN
        RAISE EXCEPTION 'audit_event rows are appended at the head only (row % after head %)', NEW.seq, h_seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    UPDATE public.audit_chain SET head_seq = NEW.seq, head_mac = NEW.mac;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_event_append BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append();

-- Retention removes the oldest rows as one prefix of the chain: the rows before the
-- first one at or after the cutoff, so a row dated in the past but written last cannot
-- drag the recent rows with it. It refuses a cutoff less than a year ago (the shortest
-- RENRAKU_AUDIT_RETENTION_YEARS; a day's slack for clocks that disagree), so a server
-- taken over cannot use it to empty the log of recent rows.
CREATE FUNCTION audit_retain(cutoff timestamptz, OUT anchor_seq bigint, OUT anchor_mac bytea, OUT removed bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    old_anchor bigint;
    old_mac    bytea;
    h_seq      bigint;
    first_kept bigint;
    new_anchor bigint;
    new_mac    bytea;
BEGIN
    IF cutoff IS NULL OR cutoff > now() - interval '1 year' + interval '1 day' THEN
        RAISE EXCEPTION 'audit retention keeps at least one year of rows (cutoff % refused)', cutoff
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT c.anchor_seq, c.anchor_mac, c.head_seq INTO old_anchor, old_mac, h_seq FROM public.audit_chain c FOR UPDATE;
    SELECT min(e.seq) INTO first_kept FROM public.audit_event e WHERE e.occurred_at >= cutoff;
    new_anchor := coalesce(first_kept - 1, h_seq);
    IF new_anchor <= old_anchor THEN
        anchor_seq := old_anchor;
        anchor_mac := old_mac;
        removed := 0;
        RETURN;
    END IF;
    SELECT e.mac INTO new_mac FROM public.audit_event e WHERE e.seq = new_anchor;
    UPDATE public.audit_chain SET anchor_seq = new_anchor, anchor_mac = new_mac;
    DELETE FROM public.audit_event e WHERE e.seq <= new_anchor;
    GET DIAGNOSTICS removed = ROW_COUNT;
    anchor_seq := new_anchor;
    anchor_mac := new_mac;
END;
$$;
COMMENT ON FUNCTION audit_retain(timestamptz) IS 'Audit retention for the server role: removes the chain''s prefix older than cutoff (at least a year ago) and moves the anchor to it.';

REVOKE ALL ON FUNCTION audit_lock_head(), audit_event_append(), audit_retain(timestamptz) FROM PUBLIC;

-- The grants, in one function so that `renraku restore` (whose archive carries no
-- privileges) can apply them again. Default privileges make every table and sequence
-- that a later migration creates (as the same owner) writable by the server too; a
-- later table that needs narrower rights revokes them in its own migration and here.
CREATE FUNCTION renraku_grant_app() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    GRANT USAGE ON SCHEMA public TO renraku_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO renraku_app;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO renraku_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO renraku_app;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO renraku_app;
    -- The audit log: read and append only; the chain row only through the functions.
    REVOKE ALL ON public.audit_event, public.audit_chain FROM renraku_app;
    GRANT SELECT, INSERT ON public.audit_event TO renraku_app;
    GRANT SELECT ON public.audit_chain TO renraku_app;
    GRANT EXECUTE ON FUNCTION public.audit_lock_head(), public.audit_retain(timestamptz) TO renraku_app;
    -- The schema version is the owner's to change; the server only checks it.
    REVOKE ALL ON public.schema_migrations FROM renraku_app;
    GRANT SELECT ON public.schema_migrations TO renraku_app;
END;
$$;
REVOKE ALL ON FUNCTION renraku_grant_app() FROM PUBLIC;
COMMENT ON FUNCTION renraku_grant_app() IS 'Grants the server role renraku_app its rights; run by migrations and after a restore, as the owner.';
SELECT renraku_grant_app();

COMMIT;
