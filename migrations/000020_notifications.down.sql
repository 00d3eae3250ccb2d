BEGIN;

DROP TABLE notify_pending;
DROP TABLE vapid_key;
DROP TABLE push_subscription;
DROP TABLE notify_pref;

COMMIT;
