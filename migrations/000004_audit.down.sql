BEGIN;
DROP TABLE audit_event;
DROP TABLE audit_chain;
DROP FUNCTION audit_event_guard();
DROP FUNCTION audit_chain_guard();
DROP FUNCTION audit_refuse();
COMMIT;
