BEGIN;
-- The role itself stays: it belongs to the cluster, and other databases may use it.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM renraku_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM renraku_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM renraku_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM renraku_app;
REVOKE ALL ON SCHEMA public FROM renraku_app;
DROP TRIGGER audit_event_append ON audit_event;
DROP FUNCTION audit_event_append();
DROP FUNCTION audit_lock_head();
DROP FUNCTION audit_retain(timestamptz);
DROP FUNCTION renraku_grant_app();
COMMIT;
