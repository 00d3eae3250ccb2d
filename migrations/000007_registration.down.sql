BEGIN;
DROP TABLE deletion_record;
DROP TABLE parent_link;
DROP TABLE guardianship;
DROP TABLE child_club;
DROP TABLE child;
DROP TABLE guardian;
DROP TABLE class_code;
COMMIT;
