package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/rollover"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/vault"
)

// RolloverStore implements rollover.Store.
type RolloverStore struct {
	Vault *vault.Vault
}

var _ rollover.Store = (*RolloverStore)(nil)

// FindPlan reads a school's saved plan for a year.
func (s *RolloverStore) FindPlan(ctx context.Context, schoolID int64, year int) (rollover.Plan, bool, error) {
	db := pgtx.Tx(ctx)
	p := rollover.Plan{SchoolID: schoolID, Year: year, Saved: true}
	var grades []int16
	err := db.QueryRow(ctx, `SELECT graduating, switch_on, asked_at, switched_at FROM rollover WHERE school_id = $1 AND year = $2`, schoolID, year).
		Scan(&grades, &p.SwitchOn, &p.AskedAt, &p.SwitchedAt)
	if err == pgx.ErrNoRows {
		return rollover.Plan{}, false, nil
	}
	for _, g := range grades {
		p.Graduating = append(p.Graduating, int(g))
	}
	p.SwitchOn = school.Day(p.SwitchOn)
	return p, err == nil, classify(err, "rollover plan")
}

// SavePlan stores the plan's grades and day.
func (s *RolloverStore) SavePlan(ctx context.Context, p rollover.Plan) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO rollover (school_id, year, graduating, switch_on) VALUES ($1, $2, $3::int[]::smallint[], $4::date)
		ON CONFLICT (school_id, year) DO UPDATE SET graduating = EXCLUDED.graduating, switch_on = EXCLUDED.switch_on`,
		p.SchoolID, p.Year, p.Graduating, p.SwitchOn.Format("2006-01-02"))
	return classify(err, "save rollover plan")
}

// MarkAsked records when parents were (last) asked.
func (s *RolloverStore) MarkAsked(ctx context.Context, schoolID int64, year int, at time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE rollover SET asked_at = $3 WHERE school_id = $1 AND year = $2`, schoolID, year, at)
	return classify(err, "rollover asked")
}

// CopyStructure copies a year's classes, clubs and the duties of active staff into the
// next year. A duty follows its class or club by grade and name.
func (s *RolloverStore) CopyStructure(ctx context.Context, schoolID int64, from int) (rollover.Copied, error) {
	db := pgtx.Tx(ctx)
	var c rollover.Copied
	tag, err := db.Exec(ctx, `INSERT INTO class (school_id, year, grade, name) SELECT school_id, $2 + 1, grade, name FROM class
		WHERE school_id = $1 AND year = $2 ORDER BY grade, name ON CONFLICT DO NOTHING`, schoolID, from)
	if err != nil {
		return c, classify(err, "copy classes")
	}
	c.Classes = int(tag.RowsAffected())
	if tag, err = db.Exec(ctx, `INSERT INTO club (school_id, year, name) SELECT school_id, $2 + 1, name FROM club
		WHERE school_id = $1 AND year = $2 ORDER BY name ON CONFLICT DO NOTHING`, schoolID, from); err != nil {
		return c, classify(err, "copy clubs")
	}
	c.Clubs = int(tag.RowsAffected())
	if tag, err = db.Exec(ctx, `INSERT INTO staff_assignment (staff_id, school_id, year, duty, class_id, club_id)
		SELECT a.staff_id, a.school_id, $2 + 1, a.duty, nc.id, nk.id
		FROM staff_assignment a JOIN staff st ON st.id = a.staff_id AND st.disabled_at IS NULL
		LEFT JOIN class c ON c.id = a.class_id
		LEFT JOIN class nc ON nc.school_id = a.school_id AND nc.year = $2 + 1 AND nc.grade = c.grade AND nc.name = c.name
		LEFT JOIN club k ON k.id = a.club_id
		LEFT JOIN club nk ON nk.school_id = a.school_id AND nk.year = $2 + 1 AND nk.name = k.name
		WHERE a.school_id = $1 AND a.year = $2 AND (a.class_id IS NULL OR nc.id IS NOT NULL) AND (a.club_id IS NULL OR nk.id IS NOT NULL)
		ORDER BY a.id ON CONFLICT DO NOTHING`, schoolID, from); err != nil {
		return c, classify(err, "copy duties")
	}
	c.Duties = int(tag.RowsAffected())
	return c, nil
}

// registered is the condition for a child someone is still registered for (a child
// kept after leaving has no guardian).
const registered = `EXISTS (SELECT 1 FROM guardianship gs WHERE gs.child_id = c.id)`

// Progress counts the confirmations and lists the children still waiting.
func (s *RolloverStore) Progress(ctx context.Context, schoolID int64, year int, graduating []int) (rollover.Progress, error) {
	db := pgtx.Tx(ctx)
	var p rollover.Progress
	rows, err := db.Query(ctx, `SELECT c.id, c.name_enc, cl.grade, cl.name, cn.child_id IS NOT NULL, cl.grade = ANY($3::int[])
		FROM child c JOIN class cl ON cl.id = c.class_id
		LEFT JOIN (child_next cn JOIN class ncl ON ncl.id = cn.class_id AND ncl.year = $2 + 1) ON cn.child_id = c.id
		WHERE c.school_id = $1 AND cl.year = $2 AND `+registered+` ORDER BY cl.grade, cl.name, c.id`, schoolID, year, graduating)
	if err != nil {
		return p, classify(err, "rollover progress")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var enc []byte
		var grade int
		var name string
		var confirmed, graduates bool
		if err := rows.Scan(&id, &enc, &grade, &name, &confirmed, &graduates); err != nil {
			return p, classify(err, "rollover progress")
		}
		switch {
		case graduates:
			p.Graduates++
		case confirmed:
			p.Confirmed++
		default:
			p.Unconfirmed++
			child, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", id))
			if err != nil {
				return p, err
			}
			p.Waiting = append(p.Waiting, rollover.Waiting{ChildID: id, Name: child, ClassLabel: school.Class{Grade: grade, Name: name}.Label(),
				Grade: grade, ClassName: name})
		}
	}
	return p, classify(rows.Err(), "rollover progress")
}

// FriendsToAsk lists the following friends of verified guardians with a child still to
// confirm.
func (s *RolloverStore) FriendsToAsk(ctx context.Context, schoolID int64, year int, graduating []int) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT DISTINCT g.friend_id FROM guardianship gs JOIN guardian g ON g.id = gs.guardian_id
		JOIN line_friend f ON f.id = g.friend_id JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id
		WHERE c.school_id = $1 AND cl.year = $2 AND gs.status = 'verified' AND f.following AND NOT (cl.grade = ANY($3::int[]))
			AND NOT EXISTS (SELECT 1 FROM child_next cn JOIN class ncl ON ncl.id = cn.class_id AND ncl.year = $2 + 1 WHERE cn.child_id = c.id)
		ORDER BY 1`, schoolID, year, graduating)
	if err != nil {
		return nil, classify(err, "parents to ask")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "parents to ask")
}

// FindNext reads the confirmed placements of children.
func (s *RolloverStore) FindNext(ctx context.Context, childIDs []int64) (map[int64]rollover.Placement, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT cn.child_id, cn.class_id, cn.club_ids FROM child_next cn
		JOIN class ncl ON ncl.id = cn.class_id JOIN school sc ON sc.id = ncl.school_id AND ncl.year = sc.current_year + 1
		WHERE cn.child_id = ANY($1)`, childIDs)
	if err != nil {
		return nil, classify(err, "next year's placements")
	}
	out := map[int64]rollover.Placement{}
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		var p rollover.Placement
		err := r.Scan(&p.ChildID, &p.ClassID, &p.ClubIDs)
		out[p.ChildID] = p
		return struct{}{}, err
	})
	return out, classify(err, "next year's placements")
}

// SaveNext stores a confirmed placement.
func (s *RolloverStore) SaveNext(ctx context.Context, p rollover.Placement, guardianID int64) error {
	db := pgtx.Tx(ctx)
	if p.ClubIDs == nil {
		p.ClubIDs = []int64{}
	}
	_, err := db.Exec(ctx, `INSERT INTO child_next (child_id, class_id, club_ids, confirmed_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (child_id) DO UPDATE SET class_id = $2, club_ids = $3, confirmed_by = $4, confirmed_at = now()`,
		p.ChildID, p.ClassID, p.ClubIDs, guardianID)
	return classify(err, "save next year's placement")
}

// LockSchool locks a school's row (one switch at a time) and returns its year.
func (s *RolloverStore) LockSchool(ctx context.Context, schoolID int64) (int, error) {
	db := pgtx.Tx(ctx)
	var y int
	err := db.QueryRow(ctx, `SELECT current_year FROM school WHERE id = $1 FOR UPDATE`, schoolID).Scan(&y)
	return y, classify(err, "school")
}

// ChildrenOf lists the registered children of a school year's classes, with their
// clubs and confirmed placement.
func (s *RolloverStore) ChildrenOf(ctx context.Context, schoolID int64, year int) ([]rollover.ChildNow, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT c.id, cl.grade, cl.name,
			COALESCE((SELECT array_agg(cc.club_id ORDER BY cc.club_id) FROM child_club cc WHERE cc.child_id = c.id), '{}'),
			cn.class_id, cn.club_ids
		FROM child c JOIN class cl ON cl.id = c.class_id
		LEFT JOIN (child_next cn JOIN class ncl ON ncl.id = cn.class_id AND ncl.year = $2 + 1) ON cn.child_id = c.id
		WHERE c.school_id = $1 AND cl.year = $2 AND `+registered+` ORDER BY c.id`, schoolID, year)
	if err != nil {
		return nil, classify(err, "children of the year")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rollover.ChildNow, error) {
		var c rollover.ChildNow
		var next *int64
		var clubs []int64
		if err := r.Scan(&c.ID, &c.Grade, &c.Class, &c.ClubIDs, &next, &clubs); err != nil {
			return c, err
		}
		if next != nil {
			c.Next = &rollover.Placement{ChildID: c.ID, ClassID: *next, ClubIDs: clubs}
		}
		return c, nil
	})
	return out, classify(err, "children of the year")
}

// Move puts a child in a class and clubs of the next year (see
// RegistrationStore.MoveChild); pending sets their guardianships back to waiting.
func (s *RolloverStore) Move(ctx context.Context, p rollover.Placement, pending bool) error {
	db := pgtx.Tx(ctx)
	if err := (&RegistrationStore{Vault: s.Vault}).MoveChild(ctx, p.ChildID, p.ClassID, p.ClubIDs); err != nil {
		return err
	}
	if pending {
		if _, err := db.Exec(ctx, `UPDATE guardianship SET status = 'pending', method = '', decided_by = NULL, decided_at = NULL
			WHERE child_id = $1 AND status = 'verified'`, p.ChildID); err != nil {
			return classify(err, "guardianships to approve")
		}
	}
	return nil
}

// Finish makes the year current and closes what belonged to the last one.
func (s *RolloverStore) Finish(ctx context.Context, schoolID int64, year int, at time.Time) (int, error) {
	db := pgtx.Tx(ctx)
	if _, err := db.Exec(ctx, `UPDATE school SET current_year = $2 WHERE id = $1`, schoolID, year); err != nil {
		return 0, classify(err, "current year")
	}
	if _, err := db.Exec(ctx, `UPDATE rollover SET switched_at = $3 WHERE school_id = $1 AND year = $2`, schoolID, year, at); err != nil {
		return 0, classify(err, "rollover switched")
	}
	// Last year's class and club conversations are done; every parent's next message
	// asks again whom it is for (their teachers changed).
	if _, err := db.Exec(ctx, `UPDATE conversation SET state = 'done' WHERE school_id = $1 AND state <> 'done'
		AND (class_id IN (SELECT id FROM class WHERE school_id = $1 AND year < $2) OR club_id IN (SELECT id FROM club WHERE school_id = $1 AND year < $2))`,
		schoolID, year); err != nil {
		return 0, classify(err, "close last year's conversations")
	}
	if _, err := db.Exec(ctx, `UPDATE guardian SET conversation_id = NULL, conversation_at = NULL
		WHERE conversation_id IN (SELECT id FROM conversation WHERE school_id = $1)`, schoolID); err != nil {
		return 0, classify(err, "reset conversation choices")
	}
	// Reports for the new year's days made before the switch belong on the new class's
	// list.
	if _, err := db.Exec(ctx, `UPDATE absence_report r SET class_id = c.class_id FROM child c
		WHERE c.id = r.child_id AND r.school_id = $1 AND r.class_id <> c.class_id AND r.date_to >= $2::date`,
		schoolID, at.In(school.Tokyo).Format("2006-01-02")); err != nil {
		return 0, classify(err, "move reports to the new classes")
	}
	if _, err := db.Exec(ctx, `DELETE FROM child_next cn USING child c WHERE c.id = cn.child_id AND c.school_id = $1`, schoolID); err != nil {
		return 0, classify(err, "next year's placements")
	}
	// Announcements not yet sent to last year's classes, clubs or grades would reach
	// the wrong families: they are cancelled.
	tag, err := db.Exec(ctx, `UPDATE announcement SET state = 'cancelled', cancel_reason = 'rollover' WHERE school_id = $1 AND state IN ('draft', 'scheduled')
		AND (audience ? 'classes' OR audience ? 'clubs' OR audience ? 'grades')`, schoolID)
	if err != nil {
		return 0, classify(err, "cancel last year's announcements")
	}
	return int(tag.RowsAffected()), nil
}

// Due lists schools whose saved plan's day has come, that have not switched and that
// have classes for the new year (without, the page says what is missing).
func (s *RolloverStore) Due(ctx context.Context, today time.Time) (map[int64]int, error) {
	db := pgtx.Tx(ctx)
	// A single-year board's schools switch on April 1st whatever day a plan says, or
	// without a plan.
	rows, err := db.Query(ctx, `SELECT r.school_id, r.year FROM rollover r JOIN school sc ON sc.id = r.school_id
		LEFT JOIN retention_policy rp ON rp.board_id = sc.board_id
		WHERE r.switched_at IS NULL AND sc.current_year = r.year - 1
			AND (r.switch_on <= $1::date OR (COALESCE(rp.single_year, false) AND $1::date >= make_date(r.year, 4, 1)))
			AND EXISTS (SELECT 1 FROM class cl WHERE cl.school_id = r.school_id AND cl.year = r.year)
		UNION
		SELECT sc.id, sc.current_year + 1 FROM school sc JOIN retention_policy rp ON rp.board_id = sc.board_id AND rp.single_year
		WHERE $1::date >= make_date(sc.current_year + 1, 4, 1) AND rp.single_year_done < sc.current_year + 1
			AND NOT EXISTS (SELECT 1 FROM rollover r WHERE r.school_id = sc.id AND r.year = sc.current_year + 1)
			AND EXISTS (SELECT 1 FROM class cl WHERE cl.school_id = sc.id AND cl.year = sc.current_year + 1)`, today.Format("2006-01-02"))
	if err != nil {
		return nil, classify(err, "due rollovers")
	}
	out := map[int64]int{}
	_, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct{}, error) {
		var id int64
		var y int
		err := r.Scan(&id, &y)
		out[id] = y
		return struct{}{}, err
	})
	return out, classify(err, "due rollovers")
}

// FriendsOfChildren lists the LINE friends of the children's guardians.
func (s *RolloverStore) FriendsOfChildren(ctx context.Context, childIDs []int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT DISTINCT g.friend_id FROM guardianship gs JOIN guardian g ON g.id = gs.guardian_id
		WHERE gs.child_id = ANY($1) AND gs.status IN ('verified', 'pending') ORDER BY 1`, childIDs)
	if err != nil {
		return nil, classify(err, "children's parents")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "children's parents")
}

// SingleYear reads whether the board uses single-year registration.
func (s *RolloverStore) SingleYear(ctx context.Context, boardID int64) (bool, error) {
	db := pgtx.Tx(ctx)
	var on bool
	err := db.QueryRow(ctx, `SELECT single_year FROM retention_policy WHERE board_id = $1`, boardID).Scan(&on)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	return on, classify(err, "retention policy")
}

// CountDuties counts a school year's duties.
func (s *RolloverStore) CountDuties(ctx context.Context, schoolID int64, year int) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM staff_assignment WHERE school_id = $1 AND year = $2`, schoolID, year).Scan(&n)
	return n, classify(err, "duties")
}

// YearEndPending says whether a single-year board has yet to delete the registrations
// of the school year before year.
func (s *RolloverStore) YearEndPending(ctx context.Context, boardID int64, year int) (bool, error) {
	db := pgtx.Tx(ctx)
	var pending bool
	err := db.QueryRow(ctx, `SELECT single_year AND single_year_done < $2 FROM retention_policy WHERE board_id = $1`, boardID, year).Scan(&pending)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	return pending, classify(err, "retention policy")
}

// ShareSchool locks a school's row in share mode: a switch (which locks it for update)
// waits, or is waited for.
func (s *RolloverStore) ShareSchool(ctx context.Context, schoolID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `SELECT 1 FROM school WHERE id = $1 FOR SHARE`, schoolID)
	return classify(err, "school")
}
