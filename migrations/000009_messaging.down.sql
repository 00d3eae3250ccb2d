BEGIN;
DROP TABLE auto_reply_day;
DROP TABLE canned_reply;
ALTER TABLE school DROP COLUMN inbox_inactivity_hours;
ALTER TABLE guardian DROP COLUMN conversation_id, DROP COLUMN conversation_at;
DROP TABLE message;
DROP TABLE conversation;
COMMIT;
