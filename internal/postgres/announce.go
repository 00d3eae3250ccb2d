package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/announce"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// AnnounceStore implements announce.Store and announce.ScopeStore. Titles, bodies and
// handout names are encrypted.
type AnnounceStore struct {
	Vault *vault.Vault
}

var (
	_ announce.Store      = (*AnnounceStore)(nil)
	_ announce.ScopeStore = (*AnnounceStore)(nil)
)

func announcementAD(id int64, col string) vault.AD { return vault.NewADForID("announcement", col, id) }

// MaxHandoutBytes reads the board's handout size limit.
func (s *AnnounceStore) MaxHandoutBytes(ctx context.Context, boardID int64) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT handout_max_bytes FROM board WHERE id = $1`, boardID).Scan(&n)
	return n, classify(err, "handout limit")
}

// SetMaxHandoutBytes sets the board's handout size limit.
func (s *AnnounceStore) SetMaxHandoutBytes(ctx context.Context, boardID int64, n int) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE board SET handout_max_bytes = $2 WHERE id = $1`, boardID, n)
	return classify(err, "handout limit")
}

// audienceWhere is the SQL condition on child c, class cl and school sc for an audience
// ($2 school, $3 whole, $4 grades, $5 classes, $6 clubs, $7 schools, $8 districts) of
// the schools' current year.
const audienceWhere = `sc.board_id = $1 AND cl.year = sc.current_year AND (
	($2 <> 0 AND c.school_id = $2 AND ($3 OR cl.grade = ANY($4) OR c.class_id = ANY($5)
		OR EXISTS (SELECT 1 FROM child_club cc WHERE cc.child_id = c.id AND cc.club_id = ANY($6))))
	OR ($2 = 0 AND (sc.id = ANY($7) OR sc.district = ANY($8))))`

func audienceArgs(boardID int64, a announce.Audience) []any {
	grades := a.Grades
	if grades == nil {
		grades = []int{}
	}
	return []any{boardID, a.SchoolID, a.Whole, grades, nonNil(a.Classes), nonNil(a.Clubs), nonNil(a.Schools), nonNilS(a.Districts)}
}

func nonNil(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

func nonNilS(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// FindChildNames returns the names of every child the audience covers.
func (s *AnnounceStore) FindChildNames(ctx context.Context, boardID int64, a announce.Audience) ([]vault.Personal, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT c.id, c.name_enc FROM child c JOIN class cl ON cl.id = c.class_id JOIN school sc ON sc.id = c.school_id
		WHERE `+audienceWhere, audienceArgs(boardID, a)...)
	if err != nil {
		return nil, classify(err, "child names")
	}
	defer rows.Close()
	var out []vault.Personal
	for rows.Next() {
		var id int64
		var enc []byte
		if err := rows.Scan(&id, &enc); err != nil {
			return nil, classify(err, "child names")
		}
		n, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", id))
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, classify(rows.Err(), "child names")
}

// CreateAnnouncement stores a new announcement.
func (s *AnnounceStore) CreateAnnouncement(ctx context.Context, a *announce.Announcement) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('announcement', 'id'))`).Scan(&a.ID); err != nil {
		return classify(err, "announcement id")
	}
	title, err := s.Vault.EncryptPersonal(a.Title, announcementAD(a.ID, "title"))
	if err != nil {
		return err
	}
	body, err := s.Vault.EncryptPersonal(a.Body, announcementAD(a.ID, "body"))
	if err != nil {
		return err
	}
	aud, err := json.Marshal(a.Audience)
	if err != nil {
		return err
	}
	var sched *time.Time
	if !a.ScheduledAt.IsZero() {
		sched = &a.ScheduledAt
	}
	err = db.QueryRow(ctx, `INSERT INTO announcement (id, board_id, school_id, kind, audience, audience_label, title_enc, body_enc,
		names_child, consent, state, scheduled_at, created_by) OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, NULLIF($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING created_at`,
		a.ID, a.BoardID, a.SchoolID, a.Kind, aud, a.AudienceLabel, title, body, a.NamesChild, a.Consent, a.State, sched, a.CreatedBy).Scan(&a.CreatedAt)
	return classify(err, "create announcement")
}

// UpdateAnnouncement stores an edited announcement's audience, text, consent and time.
func (s *AnnounceStore) UpdateAnnouncement(ctx context.Context, a announce.Announcement) error {
	db := pgtx.Tx(ctx)
	title, err := s.Vault.EncryptPersonal(a.Title, announcementAD(a.ID, "title"))
	if err != nil {
		return err
	}
	body, err := s.Vault.EncryptPersonal(a.Body, announcementAD(a.ID, "body"))
	if err != nil {
		return err
	}
	aud, err := json.Marshal(a.Audience)
	if err != nil {
		return err
	}
	var sched *time.Time
	if !a.ScheduledAt.IsZero() {
		sched = &a.ScheduledAt
	}
	tag, err := db.Exec(ctx, `UPDATE announcement SET audience = $2, audience_label = $3, title_enc = $4, body_enc = $5,
		names_child = $6, consent = $7, scheduled_at = $8 WHERE id = $1`,
		a.ID, aud, a.AudienceLabel, title, body, a.NamesChild, a.Consent, sched)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return classify(err, "update announcement")
}

// DeleteHandout deletes a handout's record (its bytes are the caller's to delete).
func (s *AnnounceStore) DeleteHandout(ctx context.Context, announcementID, handoutID int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM handout WHERE id = $2 AND announcement_id = $1`, announcementID, handoutID)
	return classify(err, "delete handout")
}

// SetHandoutPosition moves a handout in its announcement's list.
func (s *AnnounceStore) SetHandoutPosition(ctx context.Context, handoutID int64, position int) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE handout SET position = $2 WHERE id = $1`, handoutID, position)
	return classify(err, "handout position")
}

// CreateHandout stores a handout's record (its bytes are in the file store).
func (s *AnnounceStore) CreateHandout(ctx context.Context, announcementID int64, h *announce.Handout, sha []byte) error {
	db := pgtx.Tx(ctx)
	if err := db.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('handout', 'id'))`).Scan(&h.ID); err != nil {
		return classify(err, "handout id")
	}
	name, err := s.Vault.EncryptPersonal(h.Name, vault.NewADForID("handout", "name", h.ID))
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO handout (id, announcement_id, position, name_enc, size_bytes, sha256, storage_key)
		OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.ID, announcementID, h.Position, name, h.Size, sha, h.Key)
	return classify(err, "create handout")
}

const announcementColumns = `a.id, a.board_id, COALESCE(a.school_id, 0), a.kind, a.audience, a.audience_label, a.title_enc, a.body_enc,
	a.names_child, a.consent, a.state, a.cancel_reason, a.scheduled_at, a.started_at, a.finished_at, a.created_by, a.created_at,
	COALESCE(r.total, 0) + q.queued + q.sent + q.failed, COALESCE(r.queued, 0) + q.queued, COALESCE(r.sent, 0) + q.sent,
	COALESCE(r.failed, 0) + q.failed, COALESCE(r.skipped, 0), COALESCE(r.opened, 0),
	COALESCE((SELECT name FROM school WHERE id = a.school_id), (SELECT name FROM board WHERE id = a.board_id)),
	EXISTS (SELECT 1 FROM school s1 JOIN school s2 ON s2.line_channel_id = s1.line_channel_id AND s2.id <> s1.id
		WHERE s1.board_id = a.board_id AND (a.school_id IS NULL OR s1.id = a.school_id))`

const announcementFrom = ` FROM announcement a LEFT JOIN LATERAL (SELECT count(*) AS total,
		count(*) FILTER (WHERE state = 'queued') AS queued, count(*) FILTER (WHERE state = 'sent') AS sent,
		count(*) FILTER (WHERE state = 'failed') AS failed, count(*) FILTER (WHERE state = 'skipped') AS skipped,
		count(opened_at) AS opened
	FROM announcement_recipient WHERE announcement_id = a.id) r ON true
	CROSS JOIN LATERAL (SELECT COALESCE(sum(recipients) FILTER (WHERE state = 'queued'), 0) AS queued,
		COALESCE(sum(recipients) FILTER (WHERE state = 'sent' AND NOT recorded), 0) AS sent,
		COALESCE(sum(recipients) FILTER (WHERE state = 'failed' AND NOT recorded), 0) AS failed
	FROM announcement_batch WHERE announcement_id = a.id) q `

// reached is every recipient an announcement's batches reached or failed to reach,
// besides those skipped: the rows written, and the members of the finished batches not
// yet recorded (see RecordRecipients). Only the rows have opens.
const reached = `(SELECT announcement_id, guardian_id, channel_id, state, opened_at FROM announcement_recipient
	UNION ALL SELECT b.announcement_id, u.g, b.channel_id, b.state, NULL::timestamptz
	FROM announcement_batch b CROSS JOIN LATERAL unnest(b.guardian_ids) AS u(g)
	WHERE b.state <> 'queued' AND NOT b.recorded AND EXISTS (SELECT 1 FROM guardian WHERE id = u.g))`

func (s *AnnounceStore) scanAnnouncement(r pgx.Row) (announce.Announcement, error) {
	var a announce.Announcement
	var aud, title, body []byte
	var sched, started, finished *time.Time
	c := &a.Counts
	if err := r.Scan(&a.ID, &a.BoardID, &a.SchoolID, &a.Kind, &aud, &a.AudienceLabel, &title, &body, &a.NamesChild, &a.Consent, &a.State,
		&a.CancelReason, &sched, &started, &finished, &a.CreatedBy, &a.CreatedAt, &c.Total, &c.Queued, &c.Sent, &c.Failed, &c.Skipped, &c.Opened,
		&a.Sender, &a.SharedChannel); err != nil {
		return a, err
	}
	for _, t := range []struct {
		from *time.Time
		to   *time.Time
	}{{sched, &a.ScheduledAt}, {started, &a.StartedAt}, {finished, &a.FinishedAt}} {
		if t.from != nil {
			*t.to = *t.from
		}
	}
	if err := json.Unmarshal(aud, &a.Audience); err != nil {
		return a, fmt.Errorf("announcement audience: %w", err)
	}
	var err error
	if a.Title, err = s.Vault.DecryptPersonal(title, announcementAD(a.ID, "title")); err != nil {
		return a, err
	}
	a.Body, err = s.Vault.DecryptPersonal(body, announcementAD(a.ID, "body"))
	return a, err
}

// FindAnnouncement reads an announcement with its handouts and figures.
func (s *AnnounceStore) FindAnnouncement(ctx context.Context, id int64) (announce.Announcement, error) {
	db := pgtx.Tx(ctx)
	a, err := s.scanAnnouncement(db.QueryRow(ctx, `SELECT `+announcementColumns+announcementFrom+`WHERE a.id = $1`, id))
	if err != nil {
		return a, classify(err, "announcement")
	}
	return a, s.findHandouts(ctx, &a)
}

// FindAnnouncementContent reads what sending needs: the announcement and its
// handouts, without counting its recipients.
func (s *AnnounceStore) FindAnnouncementContent(ctx context.Context, id int64) (announce.Announcement, error) {
	db := pgtx.Tx(ctx)
	a, err := s.scanAnnouncement(db.QueryRow(ctx, `SELECT `+announcementColumns+` FROM announcement a
		CROSS JOIN (SELECT 0 AS total, 0 AS queued, 0 AS sent, 0 AS failed, 0 AS skipped, 0 AS opened) r
		CROSS JOIN (SELECT 0 AS queued, 0 AS sent, 0 AS failed) q WHERE a.id = $1`, id))
	if err != nil {
		return a, classify(err, "announcement")
	}
	return a, s.findHandouts(ctx, &a)
}

// findHandouts reads an announcement's handouts.
func (s *AnnounceStore) findHandouts(ctx context.Context, a *announce.Announcement) (err error) {
	a.Handouts, err = readHandouts(ctx, s.Vault, "handout", "announcement_id", a.ID)
	return err
}

// readHandouts reads the handouts (PDF records, names decrypted) of an announcement
// (table handout) or a survey (survey_handout), in order. table and owner are
// constants of the callers.
func readHandouts(ctx context.Context, v *vault.Vault, table, owner string, id int64) ([]announce.Handout, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT id, position, name_enc, size_bytes, storage_key FROM `+table+` WHERE `+owner+` = $1 ORDER BY position`, id)
	if err != nil {
		return nil, classify(err, "handouts")
	}
	defer rows.Close()
	var out []announce.Handout
	for rows.Next() {
		var h announce.Handout
		var name []byte
		if err := rows.Scan(&h.ID, &h.Position, &name, &h.Size, &h.Key); err != nil {
			return nil, classify(err, "handouts")
		}
		if h.Name, err = v.DecryptPersonal(name, vault.NewADForID(table, "name", h.ID)); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, classify(rows.Err(), "handouts")
}

// FindAnnouncements lists a school's announcements (schoolID), or all of a board's
// (schoolID 0), newest first.
func (s *AnnounceStore) FindAnnouncements(ctx context.Context, boardID, schoolID int64, limit int) ([]announce.Announcement, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+announcementColumns+announcementFrom+`
		WHERE a.board_id = $1 AND ($2 = 0 OR a.school_id = $2) ORDER BY a.created_at DESC, a.id DESC LIMIT $3`, boardID, schoolID, limit)
	if err != nil {
		return nil, classify(err, "announcements")
	}
	defer rows.Close()
	var out []announce.Announcement
	for rows.Next() {
		a, err := s.scanAnnouncement(rows)
		if err != nil {
			return nil, classify(err, "announcements")
		}
		out = append(out, a)
	}
	return out, classify(rows.Err(), "announcements")
}

// LockState locks an announcement and returns its state.
func (s *AnnounceStore) LockState(ctx context.Context, id int64) (string, error) {
	db := pgtx.Tx(ctx)
	var st string
	err := db.QueryRow(ctx, `SELECT state FROM announcement WHERE id = $1 FOR UPDATE`, id).Scan(&st)
	return st, classify(err, "announcement state")
}

// SetState moves an announcement on, stamping when sending started and finished.
func (s *AnnounceStore) SetState(ctx context.Context, id int64, state string, scheduledAt time.Time) error {
	db := pgtx.Tx(ctx)
	var sched *time.Time
	if !scheduledAt.IsZero() {
		sched = &scheduledAt
	}
	_, err := db.Exec(ctx, `UPDATE announcement SET state = $2, scheduled_at = COALESCE($3, scheduled_at),
		started_at = CASE WHEN $2 IN ('sending', 'sent') THEN COALESCE(started_at, now()) ELSE started_at END,
		finished_at = CASE WHEN $2 = 'sent' THEN now() WHEN $2 = 'sending' THEN NULL ELSE finished_at END WHERE id = $1`, id, state, sched)
	return classify(err, "announcement state")
}

// DeleteAnnouncement deletes a draft.
func (s *AnnounceStore) DeleteAnnouncement(ctx context.Context, id int64) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `DELETE FROM announcement WHERE id = $1`, id)
	return classify(err, "delete announcement")
}

// reachFrom selects the guardians an audience reaches: verified guardianship of a child
// in it, one row per guardian.
const reachFrom = ` FROM guardianship gs JOIN guardian g ON g.id = gs.guardian_id JOIN line_friend f ON f.id = g.friend_id
	JOIN child c ON c.id = gs.child_id JOIN class cl ON cl.id = c.class_id JOIN school sc ON sc.id = c.school_id
	WHERE gs.status = 'verified' AND `

// CountReach counts the guardians an audience reaches now (following the account),
// per channel.
func (s *AnnounceStore) CountReach(ctx context.Context, boardID int64, a announce.Audience) ([]announce.Reach, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT f.channel_id, count(DISTINCT g.id)`+reachFrom+audienceWhere+` AND f.following
		GROUP BY f.channel_id ORDER BY f.channel_id`, audienceArgs(boardID, a)...)
	if err != nil {
		return nil, classify(err, "reach")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (announce.Reach, error) {
		var x announce.Reach
		return x, r.Scan(&x.ChannelID, &x.Guardians)
	})
	return out, classify(err, "reach")
}

// Resolving reports whether an announcement's audience is still being resolved.
func (s *AnnounceStore) Resolving(ctx context.Context, id int64) (bool, error) {
	db := pgtx.Tx(ctx)
	var open bool
	err := db.QueryRow(ctx, `SELECT resolving IS NOT NULL FROM announcement WHERE id = $1`, id).Scan(&open)
	return open, classify(err, "announcement resolving")
}

// StartResolving gives the announcement a new resolution token: the steps of a run
// that held an older one can no longer commit.
func (s *AnnounceStore) StartResolving(ctx context.Context, id int64) (string, error) {
	db := pgtx.Tx(ctx)
	var token string
	err := db.QueryRow(ctx, `UPDATE announcement SET resolving = gen_random_uuid() WHERE id = $1 RETURNING resolving::text`, id).Scan(&token)
	return token, classify(err, "start resolving")
}

// FindResolved returns the guardians an announcement's earlier steps already placed:
// in a batch or recorded (skipped, or sent before).
func (s *AnnounceStore) FindResolved(ctx context.Context, id int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT unnest(guardian_ids) FROM announcement_batch WHERE announcement_id = $1
		UNION ALL SELECT guardian_id FROM announcement_recipient WHERE announcement_id = $1`, id)
	if err != nil {
		return nil, classify(err, "resolved guardians")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, classify(err, "resolved guardians")
}

// StreamAudience calls fn with each verified guardian of the audience as PostgreSQL
// produces them (unsorted, so the first arrive before the whole audience is read); a
// guardian of several children in it comes once for each.
func (s *AnnounceStore) StreamAudience(ctx context.Context, boardID int64, a announce.Audience, fn func(announce.Member) error) error {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT g.id, f.id, f.channel_id, f.following,
			CASE WHEN f.language LIKE 'en%' THEN 'en' ELSE 'ja' END`+reachFrom+audienceWhere, audienceArgs(boardID, a)...)
	if err != nil {
		return classify(err, "resolve recipients")
	}
	defer rows.Close()
	var m announce.Member
	_, err = pgx.ForEachRow(rows, []any{&m.GuardianID, &m.FriendID, &m.ChannelID, &m.Following, &m.Language}, func() error { return fn(m) })
	return classify(err, "resolve recipients")
}

// lockResolving locks the announcement if token is still its resolution's (as
// FinishBatch does, NO KEY UPDATE).
func lockResolving(ctx context.Context, id int64, token string) error {
	db := pgtx.Tx(ctx)
	var one int
	err := db.QueryRow(ctx, `SELECT 1 FROM announcement WHERE id = $1 AND resolving = $2 FOR NO KEY UPDATE`, id, token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return announce.ErrSuperseded
	}
	return classify(err, "resolution token")
}

// AddBatches stores one step of a resolution, if token is still the announcement's:
// the batches with their members, and the guardians skipped. It returns the batches'
// IDs, in the order given.
func (s *AnnounceStore) AddBatches(ctx context.Context, id int64, token string, batches []announce.NewBatch, skipped []announce.Member) ([]int64, error) {
	db := pgtx.Tx(ctx)
	if err := lockResolving(ctx, id, token); err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	for _, nb := range batches {
		b.Queue(`INSERT INTO announcement_batch (announcement_id, channel_id, language, recipients, guardian_ids, friend_ids)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, id, nb.ChannelID, nb.Language, len(nb.Guardians), nb.Guardians, nb.Friends)
	}
	ids := make([]int64, len(batches))
	if len(batches) > 0 {
		res := db.SendBatch(ctx, b)
		for i := range batches {
			if err := res.QueryRow().Scan(&ids[i]); err != nil {
				res.Close()
				return nil, classify(err, "batch")
			}
		}
		if err := res.Close(); err != nil {
			return nil, classify(err, "batch")
		}
	}
	if len(skipped) > 0 {
		copyRows := make([][]any, len(skipped))
		for i, m := range skipped {
			copyRows[i] = []any{id, m.GuardianID, m.FriendID, m.ChannelID, "skipped"}
		}
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"announcement_recipient"},
			[]string{"announcement_id", "guardian_id", "friend_id", "channel_id", "state"}, pgx.CopyFromRows(copyRows)); err != nil {
			return nil, classify(err, "skipped recipients")
		}
	}
	return ids, nil
}

// FinishResolving closes an announcement's audience, if token is still its own; the
// announcement is sent at once when no batch is queued (nobody to send to, or every
// batch already answered). It returns whether it is sent.
func (s *AnnounceStore) FinishResolving(ctx context.Context, id int64, token string) (bool, error) {
	db := pgtx.Tx(ctx)
	// The lock first, the batches read after it: a batch finishing meanwhile has
	// committed by then, or sees the audience closed once this commits.
	if err := lockResolving(ctx, id, token); err != nil {
		return false, err
	}
	var state string
	err := db.QueryRow(ctx, `UPDATE announcement a SET resolving = NULL,
			state = CASE WHEN q.queued THEN a.state ELSE 'sent' END, finished_at = CASE WHEN q.queued THEN a.finished_at ELSE now() END
		FROM (SELECT EXISTS (SELECT 1 FROM announcement_batch WHERE announcement_id = $1 AND state = 'queued') AS queued) q
		WHERE a.id = $1 RETURNING a.state`, id).Scan(&state)
	return state == announce.Sent, classify(err, "finish resolving")
}

// FindBatch reads a batch.
func (s *AnnounceStore) FindBatch(ctx context.Context, id int64) (announce.Batch, error) {
	db := pgtx.Tx(ctx)
	var b announce.Batch
	err := db.QueryRow(ctx, `SELECT id, announcement_id, channel_id, language, retry_key::text, recipients, state, attempts,
			(SELECT count(*) FROM school WHERE line_channel_id = b.channel_id) > 1
		FROM announcement_batch b WHERE id = $1`, id).Scan(&b.ID, &b.AnnouncementID, &b.ChannelID, &b.Language, &b.RetryKey, &b.Recipients, &b.State,
		&b.Attempts, &b.SharedChannel)
	return b, classify(err, "batch")
}

// FindBatchUsers returns the LINE user IDs of a batch, in the order it was planned in
// (a retry sends exactly the same request).
func (s *AnnounceStore) FindBatchUsers(ctx context.Context, batchID int64) ([]string, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT f.id, f.user_id_enc FROM announcement_batch b
		CROSS JOIN LATERAL unnest(b.friend_ids) WITH ORDINALITY AS u(id, n) JOIN line_friend f ON f.id = u.id
		WHERE b.id = $1 ORDER BY u.n`, batchID)
	if err != nil {
		return nil, classify(err, "batch users")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id int64
		var enc []byte
		if err := rows.Scan(&id, &enc); err != nil {
			return nil, classify(err, "batch users")
		}
		u, err := s.Vault.DecryptPersonal(enc, friendAD(id))
		if err != nil {
			return nil, err
		}
		out = append(out, u.Reveal())
	}
	return out, classify(rows.Err(), "batch users")
}

// FinishBatch records a batch's outcome; the announcement is sent when its audience is
// resolved and no batch is queued any more. The batch's recipients' rows are written
// later (RecordRecipients), off the send path. The three statements go in one round
// trip.
func (s *AnnounceStore) FinishBatch(ctx context.Context, b announce.Batch, state, requestID, lastError string) (bool, error) {
	db := pgtx.Tx(ctx)
	q := &pgx.Batch{}
	q.Queue(`UPDATE announcement_batch SET state = $2, line_request_id = $3, last_error = left($4, 300), attempts = attempts + 1,
			sent_at = CASE WHEN $2 = 'sent' THEN now() END WHERE id = $1 AND state = 'queued'`, b.ID, state, requestID, lastError)
	// The lock first, the batches read after it (a new statement, a new snapshot): of
	// two batches finishing together, the second sees the first. NO KEY UPDATE, as
	// FinishResolving's lock: the recipients' rows being recorded meanwhile hold KEY
	// SHARE on the row (their foreign key), which FOR UPDATE would wait for.
	q.Queue(`SELECT 1 FROM announcement WHERE id = $1 FOR NO KEY UPDATE`, b.AnnouncementID)
	q.Queue(`UPDATE announcement SET state = 'sent', finished_at = now() WHERE id = $1 AND state = 'sending' AND resolving IS NULL
		AND NOT EXISTS (SELECT 1 FROM announcement_batch WHERE announcement_id = $1 AND state = 'queued')`, b.AnnouncementID)
	res := db.SendBatch(ctx, q)
	defer res.Close()
	tag, err := res.Exec()
	if err != nil {
		return false, classify(err, "finish batch")
	}
	updated := tag.RowsAffected()
	if _, err := res.Exec(); err != nil {
		return false, classify(err, "lock announcement")
	}
	if tag, err = res.Exec(); err != nil {
		return false, classify(err, "announcement sent")
	}
	return updated == 1 && tag.RowsAffected() == 1, classify(res.Close(), "finish batch")
}

// recordBatches writes the recipients' rows of the batches chosen by the statement's
// first part (named chosen, with their IDs): each finished batch is marked recorded and
// its rows written in one statement, so a batch is recorded once (a guardian deleted
// since is left out). It returns the number of batches recorded.
func recordBatches(ctx context.Context, chosen string, args ...any) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `WITH `+chosen+`,
		b AS (UPDATE announcement_batch SET recorded = true FROM chosen WHERE announcement_batch.id = chosen.id
			AND announcement_batch.state <> 'queued' AND NOT announcement_batch.recorded
			RETURNING announcement_batch.id, announcement_id, channel_id, state, guardian_ids, friend_ids),
		r AS (INSERT INTO announcement_recipient (announcement_id, guardian_id, friend_id, channel_id, batch_id, state)
			SELECT b.announcement_id, u.g, u.f, b.channel_id, b.id, b.state FROM b CROSS JOIN LATERAL unnest(b.guardian_ids, b.friend_ids) AS u(g, f)
			WHERE EXISTS (SELECT 1 FROM guardian WHERE id = u.g)
			ON CONFLICT (announcement_id, guardian_id) DO UPDATE SET state = EXCLUDED.state, batch_id = EXCLUDED.batch_id)
		SELECT count(*) FROM b`, args...).Scan(&n)
	return n, classify(err, "record recipients")
}

// RecordRecipients writes the recipients' rows of up to limit of an announcement's
// finished batches not yet recorded, skipping those another transaction is recording;
// it returns how many it recorded.
func (s *AnnounceStore) RecordRecipients(ctx context.Context, announcementID int64, limit int) (int, error) {
	return recordBatches(ctx, `chosen AS (SELECT id FROM announcement_batch WHERE announcement_id = $1 AND state <> 'queued' AND NOT recorded
		ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, announcementID, limit)
}

// FailBatchAttempt records a temporary failure.
func (s *AnnounceStore) FailBatchAttempt(ctx context.Context, batchID int64, lastError string) error {
	db := pgtx.Tx(ctx)
	_, err := db.Exec(ctx, `UPDATE announcement_batch SET attempts = attempts + 1, last_error = left($2, 300) WHERE id = $1`, batchID, lastError)
	return classify(err, "batch attempt")
}

// RequeueFailed queues an announcement's failed batches again; their recipients'
// rows go until the batches have a new outcome.
func (s *AnnounceStore) RequeueFailed(ctx context.Context, announcementID int64) ([]int64, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `UPDATE announcement_batch SET state = 'queued', last_error = '', recorded = false
		WHERE announcement_id = $1 AND state = 'failed' RETURNING id`, announcementID)
	if err != nil {
		return nil, classify(err, "requeue")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, classify(err, "requeue")
	}
	_, err = db.Exec(ctx, `DELETE FROM announcement_recipient WHERE announcement_id = $1 AND batch_id = ANY($2) AND state = 'failed'`, announcementID, ids)
	return ids, classify(err, "requeue recipients")
}

// FindRecipients lists the guardians who have not opened an announcement (of those it
// reached) or whose delivery failed, with their children in the audience's schools.
func (s *AnnounceStore) FindRecipients(ctx context.Context, announcementID int64, which string) ([]announce.Recipient, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT r.guardian_id, g.nickname_enc, r.state, r.opened_at,
			COALESCE(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}'),
			COALESCE(array_agg(c.name_enc ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}')
		FROM `+reached+` r JOIN guardian g ON g.id = r.guardian_id
		LEFT JOIN guardianship gs ON gs.guardian_id = g.id AND gs.status = 'verified' LEFT JOIN child c ON c.id = gs.child_id
		WHERE r.announcement_id = $1 AND CASE $2 WHEN 'failed' THEN r.state = 'failed' ELSE r.state = 'sent' AND r.opened_at IS NULL END
		GROUP BY r.guardian_id, g.nickname_enc, r.state, r.opened_at ORDER BY r.guardian_id LIMIT 2000`, announcementID, which)
	if err != nil {
		return nil, classify(err, "recipients")
	}
	defer rows.Close()
	var out []announce.Recipient
	for rows.Next() {
		var x announce.Recipient
		var nick []byte
		var opened *time.Time
		var ids []int64
		var names [][]byte
		if err := rows.Scan(&x.GuardianID, &nick, &x.State, &opened, &ids, &names); err != nil {
			return nil, classify(err, "recipients")
		}
		if opened != nil {
			x.OpenedAt = *opened
		}
		if x.Nickname, err = s.Vault.DecryptPersonal(nick, guardianAD(x.GuardianID, "nickname")); err != nil {
			return nil, err
		}
		for i, enc := range names {
			n, err := s.Vault.DecryptPersonal(enc, vault.NewADForID("child", "name", ids[i]))
			if err != nil {
				return nil, err
			}
			x.Children = append(x.Children, n)
		}
		out = append(out, x)
	}
	return out, classify(rows.Err(), "recipients")
}

// FindGuardianAnnouncements lists what a guardian received, newest first.
func (s *AnnounceStore) FindGuardianAnnouncements(ctx context.Context, guardianID int64, limit int) ([]announce.ParentItem, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT a.id, a.kind, a.title_enc, COALESCE(a.started_at, a.created_at), r.opened_at IS NOT NULL,
			(SELECT count(*) FROM handout h WHERE h.announcement_id = a.id)
		FROM `+reached+` r JOIN announcement a ON a.id = r.announcement_id
		WHERE r.guardian_id = $1 AND r.state = 'sent' ORDER BY a.started_at DESC NULLS LAST, a.id DESC LIMIT $2`, guardianID, limit)
	if err != nil {
		return nil, classify(err, "guardian announcements")
	}
	defer rows.Close()
	var out []announce.ParentItem
	for rows.Next() {
		var x announce.ParentItem
		var title []byte
		if err := rows.Scan(&x.ID, &x.Kind, &title, &x.SentAt, &x.Opened, &x.Handouts); err != nil {
			return nil, classify(err, "guardian announcements")
		}
		if x.Title, err = s.Vault.DecryptPersonal(title, announcementAD(x.ID, "title")); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, classify(rows.Err(), "guardian announcements")
}

// MarkOpened counts an open by a recipient it reached. The recipient's batch is
// recorded first if it is not yet (an open within seconds of the send); a batch being
// recorded by another transaction is waited for.
func (s *AnnounceStore) MarkOpened(ctx context.Context, announcementID, guardianID int64, at time.Time) (bool, error) {
	db := pgtx.Tx(ctx)
	if _, err := recordBatches(ctx, `chosen AS (SELECT id FROM announcement_batch WHERE announcement_id = $1 AND state <> 'queued' AND NOT recorded
		AND $2 = ANY(guardian_ids))`, announcementID, guardianID); err != nil {
		return false, err
	}
	tag, err := db.Exec(ctx, `UPDATE announcement_recipient SET opens = opens + 1, opened_at = COALESCE(opened_at, $3)
		WHERE announcement_id = $1 AND guardian_id = $2 AND state = 'sent'`, announcementID, guardianID, at)
	return tag.RowsAffected() == 1, classify(err, "open")
}

// FindSchoolScope returns a school's board and current year.
func (s *AnnounceStore) FindSchoolScope(ctx context.Context, schoolID int64) (int64, int, error) {
	db := pgtx.Tx(ctx)
	var board int64
	var year int
	err := db.QueryRow(ctx, `SELECT board_id, current_year FROM school WHERE id = $1`, schoolID).Scan(&board, &year)
	return board, year, classify(err, "school")
}

func (s *AnnounceStore) scopes(ctx context.Context, table string, ids []int64) ([]announce.Scope, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT id, school_id, year FROM `+table+` WHERE id = ANY($1)`, nonNil(ids))
	if err != nil {
		return nil, classify(err, table)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (announce.Scope, error) {
		var x announce.Scope
		return x, r.Scan(&x.ID, &x.SchoolID, &x.Year)
	})
	return out, classify(err, table)
}

// FindClassScopes returns each class's school and year.
func (s *AnnounceStore) FindClassScopes(ctx context.Context, ids []int64) ([]announce.Scope, error) {
	return s.scopes(ctx, "class", ids)
}

// FindClubScopes returns each club's school and year.
func (s *AnnounceStore) FindClubScopes(ctx context.Context, ids []int64) ([]announce.Scope, error) {
	return s.scopes(ctx, "club", ids)
}

// CountBoardSchools counts the board's schools among ids.
func (s *AnnounceStore) CountBoardSchools(ctx context.Context, boardID int64, ids []int64) (int, error) {
	db := pgtx.Tx(ctx)
	var n int
	err := db.QueryRow(ctx, `SELECT count(*) FROM school WHERE board_id = $1 AND id = ANY($2)`, boardID, nonNil(ids)).Scan(&n)
	return n, classify(err, "schools")
}

// FindOptions lists a board's schools and districts, or a school's grades, classes and
// clubs of its current year.
func (s *AnnounceStore) FindOptions(ctx context.Context, boardID, schoolID int64) (announce.Options, error) {
	db := pgtx.Tx(ctx)
	var o announce.Options
	if err := db.QueryRow(ctx, `SELECT handout_max_bytes FROM board WHERE id = $1`, boardID).Scan(&o.MaxBytes); err != nil {
		return o, classify(err, "board")
	}
	if schoolID == 0 {
		rows, err := db.Query(ctx, `SELECT id, name, district FROM school WHERE board_id = $1 ORDER BY school_type, name`, boardID)
		if err != nil {
			return o, classify(err, "schools")
		}
		seen := map[string]bool{}
		defer rows.Close()
		for rows.Next() {
			var c announce.Choice
			var district string
			if err := rows.Scan(&c.ID, &c.Label, &district); err != nil {
				return o, classify(err, "schools")
			}
			o.Schools = append(o.Schools, c)
			if district != "" && !seen[district] {
				seen[district] = true
				o.Districts = append(o.Districts, district)
			}
		}
		return o, classify(rows.Err(), "schools")
	}
	var year int
	if err := db.QueryRow(ctx, `SELECT id, name, current_year FROM school WHERE id = $1`, schoolID).Scan(&o.SchoolID, &o.SchoolName, &year); err != nil {
		return o, classify(err, "school")
	}
	rows, err := db.Query(ctx, `SELECT id, grade::text || '年' || name, year, grade FROM class WHERE school_id = $1 AND year = $2 ORDER BY grade, name`, schoolID, year)
	if err != nil {
		return o, classify(err, "classes")
	}
	defer rows.Close()
	seen := map[int]bool{}
	for rows.Next() {
		var c announce.Choice
		var grade int
		if err := rows.Scan(&c.ID, &c.Label, &c.Year, &grade); err != nil {
			return o, classify(err, "classes")
		}
		o.Classes = append(o.Classes, c)
		if !seen[grade] {
			seen[grade] = true
			o.Grades = append(o.Grades, grade)
		}
	}
	if err := rows.Err(); err != nil {
		return o, classify(err, "classes")
	}
	clubs, err := db.Query(ctx, `SELECT id, name, year FROM club WHERE school_id = $1 AND year = $2 ORDER BY name`, schoolID, year)
	if err != nil {
		return o, classify(err, "clubs")
	}
	o.Clubs, err = pgx.CollectRows(clubs, func(r pgx.CollectableRow) (announce.Choice, error) {
		var c announce.Choice
		return c, r.Scan(&c.ID, &c.Label, &c.Year)
	})
	return o, classify(err, "clubs")
}

// FindFailed lists a school's announcements (of one sender, unless createdBy is 0)
// started since a time that have failed deliveries, oldest first.
func (s *AnnounceStore) FindFailed(ctx context.Context, schoolID, createdBy int64, since time.Time) ([]announce.Announcement, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+announcementColumns+announcementFrom+`
		WHERE a.school_id = $1 AND ($2 = 0 OR a.created_by = $2) AND a.started_at >= $3 AND COALESCE(r.failed, 0) + q.failed > 0
		ORDER BY a.started_at, a.id`, schoolID, createdBy, since)
	if err != nil {
		return nil, classify(err, "failed announcements")
	}
	defer rows.Close()
	var out []announce.Announcement
	for rows.Next() {
		a, err := s.scanAnnouncement(rows)
		if err != nil {
			return nil, classify(err, "failed announcements")
		}
		out = append(out, a)
	}
	return out, classify(rows.Err(), "failed announcements")
}
