BEGIN;

-- The inbox's search keeps the names it matches (a guardian's nickname, a child's name,
-- the class and club labels) decrypted in each instance's memory. Whatever changes one
-- of them tells every instance on the channel renraku_inbox_names, in the transaction
-- that changes it (delivered when it commits), whichever code or person made the change.
-- Payloads name IDs only: guardian:ID, child:ID, conversation:ID, school:ID.
-- Each trigger fires only on an update of the columns a search reads (UPDATE OF … and
-- WHEN), so the hot updates (a conversation's last message, a guardian's current
-- conversation) never run them.

CREATE FUNCTION inbox_names_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('renraku_inbox_names', TG_ARGV[0] || ':' || OLD.id);
        RETURN OLD;
    END IF;
    IF TG_ARGV[0] = 'school' THEN
        PERFORM pg_notify('renraku_inbox_names', 'school:' || NEW.school_id);
    ELSE
        PERFORM pg_notify('renraku_inbox_names', TG_ARGV[0] || ':' || NEW.id);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER guardian_inbox_names AFTER UPDATE OF nickname_enc ON guardian
    FOR EACH ROW WHEN (OLD.nickname_enc IS DISTINCT FROM NEW.nickname_enc)
    EXECUTE FUNCTION inbox_names_notify('guardian');

CREATE TRIGGER child_inbox_names AFTER UPDATE OF name_enc, class_id ON child
    FOR EACH ROW WHEN (OLD.name_enc IS DISTINCT FROM NEW.name_enc OR OLD.class_id IS DISTINCT FROM NEW.class_id)
    EXECUTE FUNCTION inbox_names_notify('child');

CREATE TRIGGER conversation_inbox_names AFTER UPDATE OF guardian_id, child_id, target, class_id, club_id ON conversation
    FOR EACH ROW WHEN (OLD.guardian_id IS DISTINCT FROM NEW.guardian_id OR OLD.child_id IS DISTINCT FROM NEW.child_id
        OR OLD.target IS DISTINCT FROM NEW.target OR OLD.class_id IS DISTINCT FROM NEW.class_id OR OLD.club_id IS DISTINCT FROM NEW.club_id)
    EXECUTE FUNCTION inbox_names_notify('conversation');

-- A deleted conversation's entry is forgotten (the memory stays bounded by the
-- conversations that exist).
CREATE TRIGGER conversation_inbox_names_gone AFTER DELETE ON conversation
    FOR EACH ROW EXECUTE FUNCTION inbox_names_notify('conversation');

-- Renaming a class or club changes the labels of a whole school's conversations.
CREATE TRIGGER class_inbox_names AFTER UPDATE OF grade, name ON class
    FOR EACH ROW WHEN (OLD.grade IS DISTINCT FROM NEW.grade OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION inbox_names_notify('school');

CREATE TRIGGER club_inbox_names AFTER UPDATE OF name ON club
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION inbox_names_notify('school');

COMMIT;
