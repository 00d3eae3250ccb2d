BEGIN;

-- Each instance keeps the LINE channels it sends through (with their decrypted secret
-- and access token) in memory. Whatever changes a channel tells every instance on the
-- channel renraku_line_channel, in the transaction that changes it (delivered when it
-- commits), so that none goes on with an old token. The payload is the channel's ID.

CREATE FUNCTION line_channel_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('renraku_line_channel', OLD.id::text);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('renraku_line_channel', NEW.id::text);
    RETURN NEW;
END $$;

CREATE TRIGGER line_channel_changed AFTER INSERT OR UPDATE OR DELETE ON line_channel
    FOR EACH ROW EXECUTE FUNCTION line_channel_notify();

COMMIT;
