BEGIN;
ALTER TABLE audit_event DROP CONSTRAINT audit_event_actor_kind_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_actor_kind_check
    CHECK (actor_kind IN ('staff', 'guardian', 'system', 'operator'));
DROP TABLE staff_session;
DROP TABLE signin_throttle;
DROP TABLE staff_signin_token;
DROP TABLE staff_assignment;
DROP TABLE staff;
DROP TABLE club;
DROP TABLE class;
ALTER TABLE school
    DROP COLUMN website_url, DROP COLUMN club_site_url, DROP COLUMN phone, DROP COLUMN office_open,
    DROP COLUMN office_close, DROP COLUMN office_days, DROP COLUMN auto_reply, DROP COLUMN current_year,
    DROP COLUMN teacher_totp;
COMMIT;
