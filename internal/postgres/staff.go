package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/vault"
)

// StaffStore implements staff.Store. Login IDs, names and TOTP secrets are encrypted;
// login IDs are found through a blind index.
type StaffStore struct {
	Vault *vault.Vault
}

var _ staff.Store = (*StaffStore)(nil)

const staffLoginDomain = "staff.login.v1"

func (s *StaffStore) loginKey(login string) ([]byte, error) {
	return s.Vault.BlindIndex(staffLoginDomain, login)
}

func staffAD(id int64, col string) vault.AD { return vault.NewADForID("staff", col, id) }

// CreateStaff inserts an account; a login ID in use is a Conflict.
func (s *StaffStore) CreateStaff(ctx context.Context, st *staff.Staff) error {
	db := pgtx.Tx(ctx)
	key, err := s.loginKey(st.Login.Reveal())
	if err != nil {
		return err
	}
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('staff', 'id'))`).Scan(&st.ID); err != nil {
		return classify(err, "staff id")
	}
	login, err := s.Vault.EncryptPersonal(st.Login, staffAD(st.ID, "login"))
	if err != nil {
		return err
	}
	name, err := s.Vault.EncryptPersonal(st.Name, staffAD(st.ID, "name"))
	if err != nil {
		return err
	}
	err = db.QueryRow(ctx, `
		INSERT INTO staff (id, board_id, school_id, role, login_key, login_enc, name_enc)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7) RETURNING created_at`,
		st.ID, st.BoardID, st.SchoolID, st.Role, key, login, name).Scan(&st.CreatedAt)
	return classify(err, "create staff")
}

const staffColumns = `id, board_id, COALESCE(school_id, 0), role, login_enc, name_enc, password_hash IS NOT NULL,
	totp_secret_enc IS NOT NULL, disabled_at IS NOT NULL, session_epoch, created_at`

func (s *StaffStore) scan(r pgx.Row, extra ...any) (staff.Staff, error) {
	var st staff.Staff
	var login, name []byte
	dest := append([]any{&st.ID, &st.BoardID, &st.SchoolID, &st.Role, &login, &name, &st.PasswordSet, &st.TOTPEnabled,
		&st.Disabled, &st.SessionEpoch, &st.CreatedAt}, extra...)
	if err := r.Scan(dest...); err != nil {
		return st, err
	}
	var err error
	if st.Login, err = s.Vault.DecryptPersonal(login, staffAD(st.ID, "login")); err != nil {
		return st, err
	}
	st.Name, err = s.Vault.DecryptPersonal(name, staffAD(st.ID, "name"))
	return st, err
}

// FindStaffByID finds an account.
func (s *StaffStore) FindStaffByID(ctx context.Context, id int64) (staff.Staff, error) {
	db := pgtx.Tx(ctx)
	st, err := s.scan(db.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = $1`, id))
	return st, classify(err, "staff")
}

// FindStaffByLogin finds an account and its credentials by login ID.
func (s *StaffStore) FindStaffByLogin(ctx context.Context, login string) (staff.Staff, staff.Credentials, error) {
	db := pgtx.Tx(ctx)
	key, err := s.loginKey(login)
	if err != nil {
		return staff.Staff{}, staff.Credentials{}, err
	}
	var id int64
	if err := db.QueryRow(ctx, `SELECT id FROM staff WHERE login_key = $1`, key).Scan(&id); err != nil {
		return staff.Staff{}, staff.Credentials{}, classify(err, "staff")
	}
	st, err := s.FindStaffByID(ctx, id)
	if err != nil {
		return st, staff.Credentials{}, err
	}
	cr, err := s.FindCredentials(ctx, id)
	return st, cr, err
}

// FindCredentials reads an account's password hash and second factor.
func (s *StaffStore) FindCredentials(ctx context.Context, id int64) (staff.Credentials, error) {
	db := pgtx.Tx(ctx)
	var cr staff.Credentials
	var hash *string
	var secret, pending []byte
	err := db.QueryRow(ctx, `SELECT password_hash, totp_secret_enc, totp_pending_enc, totp_last_step, recovery_hashes FROM staff WHERE id = $1`, id).
		Scan(&hash, &secret, &pending, &cr.TOTPLastStep, &cr.RecoveryHashes)
	if err != nil {
		return cr, classify(err, "staff credentials")
	}
	if hash != nil {
		cr.PasswordHash = *hash
	}
	if secret != nil {
		if cr.TOTPSecret, err = s.Vault.DecryptPersonal(secret, staffAD(id, "totp_secret")); err != nil {
			return cr, err
		}
	}
	if pending != nil {
		if cr.TOTPPending, err = s.Vault.DecryptPersonal(pending, staffAD(id, "totp_pending")); err != nil {
			return cr, err
		}
	}
	return cr, nil
}

// SetPendingTOTP keeps a secret shown for enrolment until it is confirmed.
func (s *StaffStore) SetPendingTOTP(ctx context.Context, id int64, secret vault.Personal) error {
	db := pgtx.Tx(ctx)
	enc, err := s.Vault.EncryptPersonal(secret, staffAD(id, "totp_pending"))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE staff SET totp_pending_enc = $2 WHERE id = $1`, id, enc)
	return classify(err, "pending totp")
}

// FindStaffs lists accounts of a school, or a board's administrators.
func (s *StaffStore) FindStaffs(ctx context.Context, f staff.Filter) ([]staff.Staff, error) {
	db := pgtx.Tx(ctx)
	q := `SELECT ` + staffColumns + ` FROM staff WHERE board_id = $1 AND school_id = $2 ORDER BY id`
	args := []any{f.BoardID, f.SchoolID}
	if f.BoardOnly {
		q, args = `SELECT `+staffColumns+` FROM staff WHERE board_id = $1 AND school_id IS NULL ORDER BY id`, args[:1]
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "staff list")
	}
	defer rows.Close()
	var out []staff.Staff
	for rows.Next() {
		st, err := s.scan(rows)
		if err != nil {
			return nil, classify(err, "staff list")
		}
		out = append(out, st)
	}
	return out, classify(rows.Err(), "staff list")
}

// SetPassword stores a new password hash.
func (s *StaffStore) SetPassword(ctx context.Context, id int64, hash string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE staff SET password_hash = $2, password_set_at = now() WHERE id = $1`, id, hash)
	return classify(err, "set password")
}

// SetTOTP stores a confirmed TOTP secret with its first used step and recovery codes.
func (s *StaffStore) SetTOTP(ctx context.Context, id int64, secret vault.Personal, step int64, recovery []string) error {
	db := pgtx.Tx(ctx)
	enc, err := s.Vault.EncryptPersonal(secret, staffAD(id, "totp_secret"))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `UPDATE staff SET totp_secret_enc = $2, totp_pending_enc = NULL, totp_last_step = $3, recovery_hashes = $4 WHERE id = $1`, id, enc, step, recovery)
	return classify(err, "set totp")
}

// UpdateSecondFactorUse records the last TOTP step used and the recovery codes left.
func (s *StaffStore) UpdateSecondFactorUse(ctx context.Context, id int64, step int64, recovery []string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE staff SET totp_last_step = $2, recovery_hashes = $3 WHERE id = $1`, id, step, recovery)
	return classify(err, "second factor use")
}

// SetDisabled disables or enables an account.
func (s *StaffStore) SetDisabled(ctx context.Context, id int64, disabled bool) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE staff SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) END WHERE id = $1`, id, disabled)
	return classify(err, "disable staff")
}

// UpdateStaff changes an account's name and role; the name is encrypted again under the
// account's own associated data.
func (s *StaffStore) UpdateStaff(ctx context.Context, id int64, upd staff.Update) error {
	db := pgtx.Tx(ctx)
	var name []byte
	if upd.Name != nil {
		var err error
		if name, err = s.Vault.EncryptPersonal(vault.Personal(*upd.Name), staffAD(id, "name")); err != nil {
			return err
		}
	}
	var role *string
	if upd.Role != nil {
		r := string(*upd.Role)
		role = &r
	}
	tag, err := db.Exec(ctx, `UPDATE staff SET name_enc = COALESCE($2, name_enc), role = COALESCE($3, role) WHERE id = $1`, id, name, role)
	if err != nil {
		return classify(err, "update staff")
	}
	if tag.RowsAffected() == 0 {
		return classify(pgx.ErrNoRows, "update staff")
	}
	return nil
}

// BumpSessionEpoch ends every session of an account.
func (s *StaffStore) BumpSessionEpoch(ctx context.Context, id int64) (int, error) {
	db := pgtx.Tx(ctx)
	var e int
	err := db.QueryRow(ctx, `UPDATE staff SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch`, id).Scan(&e)
	return e, classify(err, "session epoch")
}

// RevokeSignin clears an account's password and voids its unused sign-in links, before
// a new link is issued.
func (s *StaffStore) RevokeSignin(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	if _, err := db.Exec(ctx, `UPDATE staff SET password_hash = NULL WHERE id = $1`, id); err != nil {
		return classify(err, "revoke sign-in")
	}
	_, err := db.Exec(ctx, `UPDATE staff_signin_token SET used_at = now() WHERE staff_id = $1 AND used_at IS NULL`, id)
	return classify(err, "revoke sign-in")
}

// CreateSigninToken stores a one-time link's hash.
func (s *StaffStore) CreateSigninToken(ctx context.Context, staffID int64, hash []byte, expires time.Time) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `INSERT INTO staff_signin_token (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)`, hash, staffID, expires)
	return classify(err, "signin token")
}

// FindSigninToken returns the account of an unused, unexpired link.
func (s *StaffStore) FindSigninToken(ctx context.Context, hash []byte, now time.Time) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `SELECT staff_id FROM staff_signin_token WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, hash, now).Scan(&id)
	return id, classify(err, "signin token")
}

// UseSigninToken spends a link; of two racing uses, one wins.
func (s *StaffStore) UseSigninToken(ctx context.Context, hash []byte, now time.Time) (int64, error) {
	db := pgtx.Tx(ctx)
	var id int64
	err := db.QueryRow(ctx, `UPDATE staff_signin_token SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING staff_id`, hash, now).Scan(&id)
	if err == nil {
		// A new link replaces older unused ones.
		_, err = db.Exec(ctx, `UPDATE staff_signin_token SET used_at = $2 WHERE staff_id = $1 AND used_at IS NULL`, id, now)
	}
	return id, classify(err, "use signin token")
}

// Throttle returns until when key is blocked (zero when it is not).
func (s *StaffStore) Throttle(ctx context.Context, key []byte, now time.Time) (time.Time, error) {
	db := pgtx.Tx(ctx)
	var until *time.Time
	err := db.QueryRow(ctx, `SELECT blocked_until FROM signin_throttle WHERE key = $1`, key).Scan(&until)
	if err == pgx.ErrNoRows || (err == nil && until == nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, classify(err, "throttle")
	}
	return *until, nil
}

// RecordFailure counts a failure for key under rule and returns the resulting block.
func (s *StaffStore) RecordFailure(ctx context.Context, key []byte, now time.Time, rule staff.ThrottleRule) (time.Time, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `
		INSERT INTO signin_throttle AS t (key, failures, window_start) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN t.window_start < $2 - $3::interval AND (t.blocked_until IS NULL OR t.blocked_until < $2) THEN 1 ELSE t.failures + 1 END,
			window_start = CASE WHEN t.window_start < $2 - $3::interval AND (t.blocked_until IS NULL OR t.blocked_until < $2) THEN $2 ELSE t.window_start END
		RETURNING failures`, key, now, rule.Window).Scan(&n)
	if err != nil {
		return time.Time{}, classify(err, "throttle")
	}
	d := rule.Block(n)
	if d == 0 {
		return time.Time{}, nil
	}
	until := now.Add(d)
	_, err = db.Exec(ctx, `UPDATE signin_throttle SET blocked_until = $2 WHERE key = $1`, key, until)
	return until, classify(err, "throttle")
}

// ClearFailures forgets the failures of key after a success.
func (s *StaffStore) ClearFailures(ctx context.Context, key []byte) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM signin_throttle WHERE key = $1`, key)
	return classify(err, "throttle")
}

const assignmentColumns = `a.id, a.staff_id, a.school_id, a.year, a.duty, COALESCE(a.class_id, 0), COALESCE(a.club_id, 0),
	COALESCE(c.grade::text || '年' || c.name, k.name, '')`

const assignmentFrom = ` FROM staff_assignment a LEFT JOIN class c ON c.id = a.class_id LEFT JOIN club k ON k.id = a.club_id `

func scanAssignment(r pgx.CollectableRow) (staff.Assignment, error) {
	var a staff.Assignment
	err := r.Scan(&a.ID, &a.StaffID, &a.SchoolID, &a.Year, &a.Duty, &a.ClassID, &a.ClubID, &a.Target)
	return a, err
}

// FindAssignments lists an account's duties, newest year first.
func (s *StaffStore) FindAssignments(ctx context.Context, staffID int64) ([]staff.Assignment, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE a.staff_id = $1
		ORDER BY a.year DESC, a.duty, c.grade, c.name, k.name`, staffID)
	out, err := pgx.CollectRows(rows, scanAssignment)
	return out, classify(err, "assignments")
}

// FindAssignmentByID finds a duty.
func (s *StaffStore) FindAssignmentByID(ctx context.Context, id int64) (staff.Assignment, error) {
	db := pgtx.Tx(ctx)
	rows, _ := db.Query(ctx, `SELECT `+assignmentColumns+assignmentFrom+`WHERE a.id = $1`, id)
	a, err := pgx.CollectExactlyOneRow(rows, scanAssignment)
	return a, classify(err, "assignment")
}

// CreateAssignment stores a duty. The class or club must belong to a.SchoolID, else
// NotFound; its year becomes the duty's year. The office duty has neither, so it takes
// a.Year, or the school's current year when that is 0. A repeated duty is a Conflict.
func (s *StaffStore) CreateAssignment(ctx context.Context, a *staff.Assignment) error {
	db := pgtx.Tx(ctx)
	err := db.QueryRow(ctx, `
		INSERT INTO staff_assignment (staff_id, school_id, year, duty, class_id, club_id)
		SELECT $1, s.id, COALESCE(c.year, k.year, CASE WHEN $6 BETWEEN s.current_year AND s.current_year + 1 THEN $6 END, s.current_year), $2, c.id, k.id
		FROM school s
		LEFT JOIN class c ON c.id = NULLIF($3, 0) AND c.school_id = s.id
		LEFT JOIN club k ON k.id = NULLIF($4, 0) AND k.school_id = s.id
		WHERE s.id = $5 AND ($3 = 0 OR c.id IS NOT NULL) AND ($4 = 0 OR k.id IS NOT NULL)
		RETURNING id, year`, a.StaffID, a.Duty, a.ClassID, a.ClubID, a.SchoolID, a.Year).Scan(&a.ID, &a.Year)
	return classify(err, "create assignment")
}

// DeleteAssignment removes a duty.
func (s *StaffStore) DeleteAssignment(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM staff_assignment WHERE id = $1`, id)
	return classify(err, "delete assignment")
}

// LoadActor reads an account's role, school, the school's current year and that
// year's duties, and the session epoch.
func (s *StaffStore) LoadActor(ctx context.Context, id int64) (authz.Actor, int, error) {
	db := pgtx.Tx(ctx)
	a := authz.Actor{StaffID: id}
	var epoch int
	err := db.QueryRow(ctx, `
		SELECT st.role, st.board_id, COALESCE(st.school_id, 0), COALESCE(sc.current_year, 0), st.disabled_at IS NOT NULL, st.session_epoch
		FROM staff st LEFT JOIN school sc ON sc.id = st.school_id WHERE st.id = $1`, id).
		Scan(&a.Role, &a.BoardID, &a.SchoolID, &a.Year, &a.Disabled, &epoch)
	if err != nil {
		return a, 0, classify(err, "actor")
	}
	rows, _ := db.Query(ctx, `SELECT duty, COALESCE(class_id, 0), COALESCE(club_id, 0) FROM staff_assignment
		WHERE staff_id = $1 AND school_id = $2 AND year = $3`, id, a.SchoolID, a.Year)
	a.Assignments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (authz.Assignment, error) {
		var x authz.Assignment
		err := r.Scan(&x.Duty, &x.ClassID, &x.ClubID)
		return x, err
	})
	return a, epoch, classify(err, "actor duties")
}

// SecondFactorRequired is true for administrators, and for teachers of a school that
// requires it.
func (s *StaffStore) SecondFactorRequired(ctx context.Context, id int64) (bool, error) {
	db := pgtx.Tx(ctx)
	var req bool
	err := db.QueryRow(ctx, `SELECT st.role <> 'teacher' OR COALESCE(sc.teacher_totp, true)
		FROM staff st LEFT JOIN school sc ON sc.id = st.school_id WHERE st.id = $1`, id).Scan(&req)
	return req, classify(err, "second factor")
}
