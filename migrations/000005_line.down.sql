BEGIN;
DROP TABLE line_richmenu;
DROP TABLE line_outbound;
DROP TABLE line_event;
DROP TABLE line_friend;
ALTER TABLE school DROP COLUMN line_channel_id;
DROP TABLE line_channel;
COMMIT;
