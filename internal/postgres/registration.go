package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/vault"
)

// RegistrationStore implements registration.Store and its code throttle. Guardian
// fields, children's names and class codes are encrypted; children and codes are found
// by blind indexes.
type RegistrationStore struct {
	Vault *vault.Vault
}

var (
	_ registration.Store        = (*RegistrationStore)(nil)
	_ registration.CodeThrottle = (*RegistrationStore)(nil)
)

const (
	childNameDomain = "child.name.v1"
	classCodeDomain = "class.code.v1"
)

func guardianAD(id int64, col string) vault.AD { return vault.NewADForID("guardian", col, id) }

// FindSchoolSites lists the schools a channel serves with their web addresses.
func (s *RegistrationStore) FindSchoolSites(ctx context.Context, channelID int64) ([]registration.SchoolSite, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT id, name, COALESCE(website_url, ''), COALESCE(club_site_url, '') FROM school
		WHERE line_channel_id = $1 ORDER BY school_type, name`, channelID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registration.SchoolSite, error) {
		var x registration.SchoolSite
		return x, r.Scan(&x.ID, &x.Name, &x.Website, &x.ClubSite)
	})
	return out, classify(err, "school sites")
}

// FindChoices lists the schools a channel serves with their current year's classes and
// clubs.
func (s *RegistrationStore) FindChoices(ctx context.Context, channelID int64) (registration.Choices, error) {
	db := pgtx.Tx(ctx)
	var c registration.Choices
	rows, err := db.Query(ctx, `SELECT id, name, current_year FROM school WHERE line_channel_id = $1 ORDER BY school_type, name`, channelID)
	if err != nil {
		return c, classify(err, "choices")
	}
	type sy struct {
		sc   registration.SchoolChoice
		year int
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sy, error) {
		var x sy
		err := r.Scan(&x.sc.ID, &x.sc.Name, &x.year)
		return x, err
	})
	if err != nil {
		return c, classify(err, "choices")
	}
	for _, x := range list {
		rows, _ := db.Query(ctx, `SELECT id, grade::text || '年' || name FROM class WHERE school_id = $1 AND year = $2 ORDER BY grade, length(name), name`, x.sc.ID, x.year)
		if x.sc.Classes, err = pgx.CollectRows(rows, scanOption); err != nil {
			return c, classify(err, "choices classes")
		}
		rows, _ = db.Query(ctx, `SELECT id, name FROM club WHERE school_id = $1 AND year = $2 ORDER BY name`, x.sc.ID, x.year)
		if x.sc.Clubs, err = pgx.CollectRows(rows, scanOption); err != nil {
			return c, classify(err, "choices clubs")
		}
		c.Schools = append(c.Schools, x.sc)
	}
	return c, nil
}

func scanOption(r pgx.CollectableRow) (registration.Option, error) {
	var o registration.Option
	err := r.Scan(&o.ID, &o.Label)
	return o, err
}

// FindGuardianByFriend reads a guardian with their children, in one query (the
// guardian's columns on each child's row; one row with no child for a guardian
// without children).
func (s *RegistrationStore) FindGuardianByFriend(ctx context.Context, friendID int64) (registration.Guardian, error) {
	db := pgtx.Tx(ctx)
	var g registration.Guardian
	rows, err := db.Query(ctx, `
		SELECT g.id, g.friend_id, g.name_enc, g.relationship_enc, g.nickname_enc, g.language, g.consent_version, g.consented_at,
			c.id, gs.id, c.school_id, c.class_id, c.name_enc, gs.status, cl.grade::text || '年' || cl.name, sc.name,
			COALESCE((SELECT array_agg(club_id ORDER BY club_id) FROM child_club WHERE child_id = c.id), '{}'),
			EXISTS (SELECT 1 FROM guardianship o WHERE o.child_id = c.id AND o.guardian_id <> gs.guardian_id AND o.status = 'verified')
		FROM guardian g
		LEFT JOIN (guardianship gs JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id JOIN school sc ON sc.id = c.school_id)
			ON gs.guardian_id = g.id
		WHERE g.friend_id = $1 ORDER BY gs.id`, friendID)
	if err != nil {
		return g, classify(err, "guardian")
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var name, rel, nick, enc []byte
		var childID, gsID, schoolID, classID *int64
		var c registration.Child
		var status, classLabel, schoolName *string
		if err := rows.Scan(&g.ID, &g.FriendID, &name, &rel, &nick, &g.Language, &g.ConsentVersion, &g.ConsentedAt,
			&childID, &gsID, &schoolID, &classID, &enc, &status, &classLabel, &schoolName, &c.ClubIDs, &c.OthersVerified); err != nil {
			return g, classify(err, "guardian")
		}
		if !found {
			found = true
			if g.Name, err = s.Vault.DecryptPersonal(name, guardianAD(g.ID, "name")); err != nil {
				return g, err
			}
			if g.Relationship, err = s.Vault.DecryptPersonal(rel, guardianAD(g.ID, "relationship")); err != nil {
				return g, err
			}
			if g.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(g.ID, "nickname")); err != nil {
				return g, err
			}
		}
		if childID == nil {
			continue // no children
		}
		c.ID, c.GuardianshipID, c.SchoolID, c.ClassID = *childID, *gsID, *schoolID, *classID
		c.Status, c.ClassLabel, c.SchoolName = *status, *classLabel, *schoolName
		if c.Name, err = s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", c.ID)); err != nil {
			return g, err
		}
		g.Children = append(g.Children, c)
	}
	if err := rows.Err(); err != nil {
		return g, classify(err, "guardian")
	}
	if !found {
		return g, classify(pgx.ErrNoRows, "guardian")
	}
	return g, nil
}

// SaveGuardian inserts or updates a guardian by their LINE friend.
func (s *RegistrationStore) SaveGuardian(ctx context.Context, g *registration.Guardian) error {
	db := pgtx.Tx(ctx)
	if g.ID == 0 {
		if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('guardian', 'id'))`).Scan(&g.ID); err != nil {
			return classify(err, "guardian id")
		}
	}
	enc := func(col string, p vault.Personal) ([]byte, error) {
		return s.Vault.EncryptPersonal(p, guardianAD(g.ID, col))
	}
	name, err := enc("name", g.Name)
	if err != nil {
		return err
	}
	rel, err := enc("relationship", g.Relationship)
	if err != nil {
		return err
	}
	nick, err := enc("nickname", g.Nickname)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `
		INSERT INTO guardian (id, friend_id, name_enc, relationship_enc, nickname_enc, language, consent_version, consented_at)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET name_enc = EXCLUDED.name_enc, relationship_enc = EXCLUDED.relationship_enc,
			nickname_enc = EXCLUDED.nickname_enc, language = EXCLUDED.language, consent_version = EXCLUDED.consent_version,
			consented_at = EXCLUDED.consented_at, updated_at = now()`,
		g.ID, g.FriendID, name, rel, nick, g.Language, g.ConsentVersion, g.ConsentedAt)
	return classify(err, "save guardian")
}

// CountConversations counts a guardian's conversations (they go with the guardian).
func (s *RegistrationStore) CountConversations(ctx context.Context, guardianID int64) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM conversation WHERE guardian_id = $1`, guardianID).Scan(&n)
	return n, classify(err, "guardian's conversations")
}

// DeleteGuardian removes a guardian and (by cascade) their guardianships.
func (s *RegistrationStore) DeleteGuardian(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM guardian WHERE id = $1`, id)
	return classify(err, "delete guardian")
}

// FindOrCreateChild finds the child of that name in the class or creates it.
func (s *RegistrationStore) FindOrCreateChild(ctx context.Context, schoolID, classID int64, name vault.Personal) (int64, error) {
	db := pgtx.Tx(ctx)
	key, err := s.Vault.BlindIndex(childNameDomain, itoa64(classID)+"|"+registrationNameKey(name.Reveal()))
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.QueryRow(ctx, `SELECT id FROM child WHERE class_id = $1 AND name_key = $2`, classID, key).Scan(&id)
	if err == nil {
		return id, nil
	}
	if err != pgx.ErrNoRows {
		return 0, classify(err, "child")
	}
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('child', 'id'))`).Scan(&id); err != nil {
		return 0, classify(err, "child id")
	}
	enc, err := s.Vault.EncryptPersonal(name, vault.NewADForID("child", "name", id))
	if err != nil {
		return 0, err
	}
	_, err = db.Exec(ctx, `INSERT INTO child (id, school_id, class_id, name_enc, name_key) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5)`,
		id, schoolID, classID, enc, key)
	return id, classify(err, "create child")
}

// SetChildClubs replaces a child's clubs.
func (s *RegistrationStore) SetChildClubs(ctx context.Context, childID int64, clubIDs []int64) error {
	db := pgtx.Tx(ctx)
	if _, err := db.Exec(ctx, `DELETE FROM child_club WHERE child_id = $1`, childID); err != nil {
		return classify(err, "child clubs")
	}
	_, err := db.Exec(ctx, `INSERT INTO child_club (child_id, club_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, childID, clubIDs)
	return classify(err, "child clubs")
}

// LinkChild creates the guardianship or keeps it; a rejected one asks again, and a code
// verifies a pending one.
func (s *RegistrationStore) LinkChild(ctx context.Context, guardianID, childID int64, status, method string) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `
		INSERT INTO guardianship AS g (guardian_id, child_id, status, method) VALUES ($1, $2, $3, $4)
		ON CONFLICT (guardian_id, child_id) DO UPDATE SET
			status = CASE WHEN g.status = 'verified' THEN 'verified' ELSE EXCLUDED.status END,
			method = CASE WHEN g.status = 'verified' THEN g.method ELSE EXCLUDED.method END
		RETURNING id`, guardianID, childID, status, method).Scan(&id)
	return id, classify(err, "link child")
}

// FindOtherGuardians locks the child row (two registrations of one child then decide
// one after the other) and lists the child's other guardians.
func (s *RegistrationStore) FindOtherGuardians(ctx context.Context, childID, guardianID int64) ([]registration.OtherGuardian, error) {
	db := pgtx.Tx(ctx)
	if _, err := db.Exec(ctx, `SELECT 1 FROM child WHERE id = $1 FOR UPDATE`, childID); err != nil {
		return nil, classify(err, "lock child")
	}
	rows, err := db.Query(ctx, `SELECT gu.id, gu.friend_id, gs.status, gu.language
		FROM guardianship gs JOIN guardian gu ON gu.id = gs.guardian_id
		WHERE gs.child_id = $1 AND gs.guardian_id <> $2 ORDER BY gs.id`, childID, guardianID)
	if err != nil {
		return nil, classify(err, "other guardians")
	}
	defer rows.Close()
	var out []registration.OtherGuardian
	for rows.Next() {
		var o registration.OtherGuardian
		if err := rows.Scan(&o.GuardianID, &o.FriendID, &o.Status, &o.Language); err != nil {
			return nil, classify(err, "other guardians")
		}
		out = append(out, o)
	}
	return out, classify(rows.Err(), "other guardians")
}

// DisputeGuardianship records a guardian's 「心当たりがない」 (the first time is kept)
// and puts a verified guardianship back to pending.
func (s *RegistrationStore) DisputeGuardianship(ctx context.Context, id, byGuardianID int64) (string, error) {
	db := pgtx.Tx(ctx)
	var prev string
	err := db.QueryRow(ctx, `
		WITH old AS (SELECT status FROM guardianship WHERE id = $1 FOR UPDATE)
		UPDATE guardianship g SET disputed_at = COALESCE(g.disputed_at, now()), disputed_by = COALESCE(g.disputed_by, $2),
			status = CASE WHEN g.status = 'verified' THEN 'pending' ELSE g.status END,
			method = CASE WHEN g.status = 'verified' THEN '' ELSE g.method END
		FROM old WHERE g.id = $1 RETURNING old.status`, id, byGuardianID).Scan(&prev)
	return prev, classify(err, "dispute guardianship")
}

// UnlinkChild removes a guardianship.
func (s *RegistrationStore) UnlinkChild(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM guardianship WHERE id = $1`, id)
	return classify(err, "unlink child")
}

// DeleteOrphans deletes those of the children that no guardian is linked to.
func (s *RegistrationStore) DeleteOrphans(ctx context.Context, ids []int64) (int, error) {
	db := pgtx.Tx(ctx)
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := db.Exec(ctx, `DELETE FROM child c WHERE c.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM guardianship g WHERE g.child_id = c.id)`, ids)
	if err != nil {
		return 0, classify(err, "delete children")
	}
	return int(tag.RowsAffected()), nil
}

const requestColumns = `gs.id, gu.id, gu.friend_id, c.id, c.school_id, sc.board_id, c.class_id, cl.year, cl.grade::text || '年' || cl.name,
	gu.nickname_enc, gu.name_enc, gu.relationship_enc, c.name_enc, gs.status, gs.created_at,
	EXISTS (SELECT 1 FROM guardianship o WHERE o.child_id = c.id AND o.guardian_id <> gs.guardian_id AND o.status = 'verified'),
	gs.disputed_at IS NOT NULL`

const requestFrom = ` FROM guardianship gs JOIN guardian gu ON gu.id = gs.guardian_id JOIN child c ON c.id = gs.child_id
	JOIN class cl ON cl.id = c.class_id JOIN school sc ON sc.id = c.school_id `

func (s *RegistrationStore) scanRequest(r pgx.Row) (registration.Request, error) {
	var q registration.Request
	var nick, gname, rel, name []byte
	if err := r.Scan(&q.GuardianshipID, &q.GuardianID, &q.FriendID, &q.ChildID, &q.SchoolID, &q.BoardID, &q.ClassID, &q.Year, &q.ClassLabel,
		&nick, &gname, &rel, &name, &q.Status, &q.CreatedAt, &q.HasGuardian, &q.Disputed); err != nil {
		return q, err
	}
	var err error
	if q.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(q.GuardianID, "nickname")); err != nil {
		return q, err
	}
	if q.GuardianName, err = s.Vault.DecryptPersonal(gname, guardianAD(q.GuardianID, "name")); err != nil {
		return q, err
	}
	if q.Relationship, err = s.Vault.DecryptPersonal(rel, guardianAD(q.GuardianID, "relationship")); err != nil {
		return q, err
	}
	q.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", q.ChildID))
	return q, err
}

// FindGuardianship reads one registration request.
func (s *RegistrationStore) FindGuardianship(ctx context.Context, id int64) (registration.Request, error) {
	db := pgtx.Tx(ctx)
	q, err := s.scanRequest(db.QueryRow(ctx, `SELECT `+requestColumns+requestFrom+`WHERE gs.id = $1`, id))
	return q, classify(err, "guardianship")
}

// DecideGuardianship records the school's decision.
func (s *RegistrationStore) DecideGuardianship(ctx context.Context, id int64, status string, staffID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE guardianship SET status = $2, method = CASE WHEN $2 = 'verified' THEN 'approval' ELSE method END,
		decided_by = $3, decided_at = now() WHERE id = $1`, id, status, staffID)
	return classify(err, "decide guardianship")
}

// FindPending lists a school's waiting registrations (of the given classes, or all).
func (s *RegistrationStore) FindPending(ctx context.Context, schoolID int64, classIDs []int64) ([]registration.Request, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+requestColumns+requestFrom+`
		WHERE c.school_id = $1 AND gs.status = 'pending' AND ($2::bigint[] IS NULL OR c.class_id = ANY($2))
		ORDER BY gs.created_at, gs.id`, schoolID, classIDs)
	if err != nil {
		return nil, classify(err, "pending")
	}
	defer rows.Close()
	var out []registration.Request
	for rows.Next() {
		q, err := s.scanRequest(rows)
		if err != nil {
			return nil, classify(err, "pending")
		}
		out = append(out, q)
	}
	return out, classify(rows.Err(), "pending")
}

// FindClassMembers lists a class's children and their guardians.
func (s *RegistrationStore) FindClassMembers(ctx context.Context, classID int64) ([]registration.Member, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `
		SELECT c.id, c.name_enc, gu.id, gu.nickname_enc, gs.status, f.following
		FROM child c JOIN guardianship gs ON gs.child_id = c.id JOIN guardian gu ON gu.id = gs.guardian_id
		JOIN line_friend f ON f.id = gu.friend_id
		WHERE c.class_id = $1 ORDER BY c.id, gs.id`, classID)
	if err != nil {
		return nil, classify(err, "class members")
	}
	defer rows.Close()
	var out []registration.Member
	for rows.Next() {
		var childID, guardianID int64
		var name, nick []byte
		var mg registration.MemberGuardian
		if err := rows.Scan(&childID, &name, &guardianID, &nick, &mg.Status, &mg.Active); err != nil {
			return nil, classify(err, "class members")
		}
		if mg.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(guardianID, "nickname")); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ChildID != childID {
			m := registration.Member{ChildID: childID}
			if m.ChildName, err = s.Vault.DecryptPersonal(name, vault.NewADForID("child", "name", childID)); err != nil {
				return nil, err
			}
			out = append(out, m)
		}
		out[len(out)-1].Guardians = append(out[len(out)-1].Guardians, mg)
	}
	return out, classify(rows.Err(), "class members")
}

// FindClassByCode returns the class whose registration code this is.
func (s *RegistrationStore) FindClassByCode(ctx context.Context, code string) (int64, error) {
	db := pgtx.Tx(ctx)
	key, err := s.Vault.BlindIndex(classCodeDomain, code)
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.QueryRow(ctx, `SELECT class_id FROM class_code WHERE code_key = $1`, key).Scan(&id)
	return id, classify(err, "class code")
}

// FindClassCodes lists a school's classes of a year (0: every year) with their codes.
func (s *RegistrationStore) FindClassCodes(ctx context.Context, schoolID int64, year int) ([]registration.ClassCode, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT cl.id, cl.grade::text || '年' || cl.name, cc.code_enc FROM class cl LEFT JOIN class_code cc ON cc.class_id = cl.id
		WHERE cl.school_id = $1 AND ($2 = 0 OR cl.year = $2) ORDER BY cl.year, cl.grade, length(cl.name), cl.name`, schoolID, year)
	if err != nil {
		return nil, classify(err, "class codes")
	}
	defer rows.Close()
	var out []registration.ClassCode
	for rows.Next() {
		var c registration.ClassCode
		var enc []byte
		if err := rows.Scan(&c.ClassID, &c.Label, &enc); err != nil {
			return nil, classify(err, "class codes")
		}
		if enc != nil {
			if c.Code, err = s.Vault.DecryptPersonal(enc, vault.NewADForID("class_code", "code", c.ClassID)); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "class codes")
}

// SetClassCode stores a class's (new) code.
func (s *RegistrationStore) SetClassCode(ctx context.Context, classID int64, code string) error {
	db := pgtx.Tx(ctx)
	key, err := s.Vault.BlindIndex(classCodeDomain, code)
	if err != nil {
		return err
	}
	enc, err := s.Vault.EncryptPersonal(vault.Personal(code), vault.NewADForID("class_code", "code", classID))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO class_code (class_id, code_key, code_enc) VALUES ($1, $2, $3)
		ON CONFLICT (class_id) DO UPDATE SET code_key = EXCLUDED.code_key, code_enc = EXCLUDED.code_enc, created_at = now()`, classID, key, enc)
	return classify(err, "class code")
}

// RecordDeletion writes a deletion record.
func (s *RegistrationStore) RecordDeletion(ctx context.Context, d registration.Deletion) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO deletion_record (board_id, school_id, category, count, reason, policy) VALUES (NULLIF($1, 0), NULLIF($2, 0), $3, $4, $5, $6)`,
		d.BoardID, d.SchoolID, d.Category, d.Count, d.Reason, d.Policy)
	return classify(err, "deletion record")
}

// TakeCodeGuesses counts n class-code guesses against a parent's limit in one
// statement, so parallel submissions cannot each see the old count: the guesses are
// taken only when the count stays within max (the count restarts an hour after the
// first guess of a window), and ok says whether they were.
func (s *RegistrationStore) TakeCodeGuesses(ctx context.Context, key []byte, n, max int, at time.Time) (bool, error) {
	db := pgtx.Tx(ctx)
	if n > max {
		return false, nil
	}
	var got int
	err := db.QueryRow(ctx, `
		INSERT INTO signin_throttle AS t (key, failures, window_start) VALUES ($1, $3, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.window_start < $2 - interval '1 hour' THEN $3 ELSE t.failures + $3 END,
			window_start = CASE WHEN t.window_start < $2 - interval '1 hour' THEN $2 ELSE t.window_start END
		WHERE CASE WHEN t.window_start < $2 - interval '1 hour' THEN $3 ELSE t.failures + $3 END <= $4
		RETURNING failures`, key, at, n, max).Scan(&got)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	return err == nil, classify(err, "code throttle")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// registrationNameKey matches registration's own normalisation of children's names.
func registrationNameKey(s string) string { return registration.NameKey(s) }

// FindChildScope returns a child's board, school and class.
func (s *RegistrationStore) FindChildScope(ctx context.Context, childID int64) (registration.ChildScope, error) {
	db := pgtx.Tx(ctx)
	var sc registration.ChildScope
	err := db.QueryRow(ctx, `SELECT s.board_id, c.school_id, c.class_id FROM child c JOIN school s ON s.id = c.school_id WHERE c.id = $1`, childID).
		Scan(&sc.BoardID, &sc.SchoolID, &sc.ClassID)
	return sc, classify(err, "child")
}

// DeleteOnLeave reads the board's policy for children who leave (default: delete).
func (s *RegistrationStore) DeleteOnLeave(ctx context.Context, boardID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	del := true
	err := db.QueryRow(ctx, `SELECT delete_on_leave FROM retention_policy WHERE board_id = $1`, boardID).Scan(&del)
	if err == pgx.ErrNoRows {
		return true, nil
	}
	return del, classify(err, "retention policy")
}

// DeleteChild ends a child's registrations: guardianships, club memberships and next
// year's placement go. Unless keepData, the child goes too, with (by cascade) their
// absence reports and conversations, counted first. Kept, the child stays without a
// guardian until the retention periods have removed their reports and conversations.
func (s *RegistrationStore) DeleteChild(ctx context.Context, childID int64, keepData bool) (registration.Left, error) {
	db := pgtx.Tx(ctx)
	var l registration.Left
	if err := db.QueryRow(ctx, `SELECT class_id, (SELECT count(*) FROM absence_report WHERE child_id = $1), (SELECT count(*) FROM conversation WHERE child_id = $1)
		FROM child WHERE id = $1 FOR UPDATE`, childID).Scan(&l.ClassID, &l.AbsenceReports, &l.Conversations); err != nil {
		return l, classify(err, "child")
	}
	rows, err := db.Query(ctx, `SELECT g.id, g.friend_id, (SELECT count(*) FROM guardianship o WHERE o.guardian_id = g.id AND o.child_id <> $1)
		FROM guardianship gs JOIN guardian g ON g.id = gs.guardian_id WHERE gs.child_id = $1 ORDER BY g.id`, childID)
	if err != nil {
		return l, classify(err, "child's guardians")
	}
	if l.Guardians, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (registration.LeftGuardian, error) {
		var g registration.LeftGuardian
		return g, r.Scan(&g.GuardianID, &g.FriendID, &g.Remaining)
	}); err != nil {
		return l, classify(err, "child's guardians")
	}
	if keepData {
		l.AbsenceReports, l.Conversations = 0, 0
		// The kept child no longer answers to their name: a new registration of the same
		// name in the class is a new child, not this one with its old records.
		key, err := s.Vault.BlindIndex(childNameDomain, "left|"+itoa64(childID))
		if err != nil {
			return l, err
		}
		_, err = db.Exec(ctx, `WITH a AS (DELETE FROM guardianship WHERE child_id = $1), b AS (DELETE FROM child_club WHERE child_id = $1),
			c AS (DELETE FROM child_next WHERE child_id = $1) UPDATE child SET name_key = $2 WHERE id = $1`, childID, key)
		return l, classify(err, "end child's registrations")
	}
	_, err = db.Exec(ctx, `DELETE FROM child WHERE id = $1`, childID)
	return l, classify(err, "delete child")
}

// MoveChild puts a child in another class, keeping the clubs listed that belong to the
// class's school and year (others are left out). The name's blind index is per class,
// so it is computed again; registration.ErrNameClash says the class already has a
// child of that name.
func (s *RegistrationStore) MoveChild(ctx context.Context, childID, classID int64, clubIDs []int64) error {
	db := pgtx.Tx(ctx)
	var enc []byte
	if err := db.QueryRow(ctx, `SELECT name_enc FROM child WHERE id = $1 FOR UPDATE`, childID).Scan(&enc); err != nil {
		return classify(err, "child")
	}
	name, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", childID))
	if err != nil {
		return err
	}
	key, err := s.Vault.BlindIndex(childNameDomain, itoa64(classID)+"|"+registrationNameKey(name.Reveal()))
	if err != nil {
		return err
	}
	if clubIDs == nil {
		clubIDs = []int64{}
	}
	var clash bool
	if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM child WHERE class_id = $1 AND name_key = $2 AND id <> $3)`, classID, key, childID).
		Scan(&clash); err != nil {
		return classify(err, "same name in the class")
	}
	if clash {
		return registration.ErrNameClash
	}
	if _, err := db.Exec(ctx, `UPDATE child SET class_id = $2, name_key = $3 WHERE id = $1`, childID, classID, key); err != nil {
		return classify(err, "move child")
	}
	if _, err := db.Exec(ctx, `DELETE FROM child_club WHERE child_id = $1`, childID); err != nil {
		return classify(err, "child's clubs")
	}
	_, err = db.Exec(ctx, `INSERT INTO child_club (child_id, club_id)
		SELECT $1, k.id FROM club k JOIN class c ON c.id = $3 AND c.school_id = k.school_id AND c.year = k.year WHERE k.id = ANY($2::bigint[])`,
		childID, clubIDs, classID)
	return classify(err, "child's clubs")
}

// ChildClubs lists a child's clubs.
func (s *RegistrationStore) ChildClubs(ctx context.Context, childID int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT club_id FROM child_club WHERE child_id = $1 ORDER BY club_id`, childID)
	if err != nil {
		return nil, classify(err, "child's clubs")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "child's clubs")
}

// CurrentClass says whether a class is of the school's current year.
func (s *RegistrationStore) CurrentClass(ctx context.Context, schoolID, classID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	var ok bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM class c JOIN school sc ON sc.id = c.school_id AND c.year = sc.current_year
		WHERE c.id = $2 AND c.school_id = $1)`, schoolID, classID).Scan(&ok)
	return ok, classify(err, "class")
}

// CountPending counts a school's waiting registrations per class (of the given classes,
// or all), oldest first.
func (s *RegistrationStore) CountPending(ctx context.Context, schoolID int64, classIDs []int64) ([]registration.ClassWaiting, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT sc.board_id, sc.id, cl.id, cl.year, cl.grade::text || '年' || cl.name, count(*), min(gs.created_at)
		FROM guardianship gs JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id JOIN school sc ON sc.id = c.school_id
		WHERE c.school_id = $1 AND gs.status = 'pending' AND ($2::bigint[] IS NULL OR c.class_id = ANY($2))
		GROUP BY sc.board_id, sc.id, cl.id ORDER BY min(gs.created_at), cl.id`, schoolID, classIDs)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registration.ClassWaiting, error) {
		var c registration.ClassWaiting
		err := r.Scan(&c.BoardID, &c.SchoolID, &c.ClassID, &c.Year, &c.Label, &c.Count, &c.Since)
		return c, err
	})
	return out, classify(err, "count pending")
}

// CountCoverage counts a school's families and children with a verified registration in
// its current year's classes, and those classes' enrolment.
func (s *RegistrationStore) CountCoverage(ctx context.Context, schoolID int64) (registration.Coverage, error) {
	db := pgtx.Tx(ctx)
	var c registration.Coverage
	err := db.QueryRow(ctx, `SELECT
		(SELECT count(DISTINCT gs.guardian_id) FROM guardianship gs JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id
			WHERE cl.school_id = sc.id AND cl.year = sc.current_year AND gs.status = 'verified'),
		(SELECT count(DISTINCT c.id) FROM guardianship gs JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id
			WHERE cl.school_id = sc.id AND cl.year = sc.current_year AND gs.status = 'verified'),
		(SELECT COALESCE(sum(enrolment), 0) FROM class WHERE school_id = sc.id AND year = sc.current_year),
		(SELECT count(*) FROM class WHERE school_id = sc.id AND year = sc.current_year AND enrolment IS NULL)
		FROM school sc WHERE sc.id = $1`, schoolID).Scan(&c.Families, &c.Children, &c.Enrolment, &c.Unset)
	return c, classify(err, "coverage")
}

// FindSchoolBoard returns the board of a school.
func (s *RegistrationStore) FindSchoolBoard(ctx context.Context, schoolID int64) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `SELECT board_id FROM school WHERE id = $1`, schoolID).Scan(&id)
	return id, classify(err, "school board")
}
