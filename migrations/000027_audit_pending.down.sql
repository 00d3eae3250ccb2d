BEGIN;

-- Pending events (normally none: each request seals its own) are lost with the table:
-- start the server once before migrating down (the job audit.seal seals leftovers at
-- start) and check that audit_pending is empty.
DROP TRIGGER audit_event_append ON audit_event;
DROP FUNCTION audit_event_append_rows();
CREATE TRIGGER audit_event_append BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append();
DROP TRIGGER audit_event_seal ON audit_event;
DROP FUNCTION audit_event_seal();
DROP TABLE audit_pending;
DROP FUNCTION audit_pending_guard();
DROP INDEX audit_event_pending;
ALTER TABLE audit_event DROP COLUMN pending_id;
COMMENT ON COLUMN audit_event.seq IS 'Position in the chain, assigned from audit_chain under its row lock: gap-free and in commit order.';

CREATE OR REPLACE FUNCTION renraku_grant_app() RETURNS void
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

COMMIT;
