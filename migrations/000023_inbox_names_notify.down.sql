BEGIN;

DROP TRIGGER club_inbox_names ON club;
DROP TRIGGER class_inbox_names ON class;
DROP TRIGGER conversation_inbox_names_gone ON conversation;
DROP TRIGGER conversation_inbox_names ON conversation;
DROP TRIGGER child_inbox_names ON child;
DROP TRIGGER guardian_inbox_names ON guardian;
DROP FUNCTION inbox_names_notify();

COMMIT;
