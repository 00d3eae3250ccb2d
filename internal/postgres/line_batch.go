package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// InsertEvents stores a batch of events with one statement, skipping those already
// stored (and repeats within the batch). It sets the ID of each event it inserted and
// reports which those were. The events' personal parts are encrypted (and the user's
// blind index computed) before the statement, as InsertEvent does one by one.
func (s *LineStore) InsertEvents(ctx context.Context, evs []line.StoredEvent) ([]bool, error) {
	db := pgtx.Tx(ctx)
	n := len(evs)
	channels := make([]int64, n)
	ids := make([]string, n)
	types := make([]string, n)
	keys := make([][]byte, n)
	occurred := make([]time.Time, n)
	received := make([]time.Time, n)
	redelivered := make([]bool, n)
	payloads := make([][]byte, n)
	for i := range evs {
		ev := &evs[i]
		if ev.UserID != "" && ev.UserKey == nil {
			k, err := s.userKey(ev.UserID)
			if err != nil {
				return nil, err
			}
			ev.UserKey = k
		}
		p, err := s.Vault.EncryptBytes(ev.Payload, eventAD(ev.ChannelID, ev.WebhookEventID))
		if err != nil {
			return nil, err
		}
		channels[i], ids[i], types[i], keys[i] = ev.ChannelID, ev.WebhookEventID, ev.Type, ev.UserKey
		occurred[i], received[i], redelivered[i], payloads[i] = ev.OccurredAt, ev.ReceivedAt, ev.Redelivered, p
	}
	// ORDER BY ord keeps the identities in the order of the batch (LINE's order within a
	// request, and requests in the order they were taken).
	rows, err := db.Query(ctx, `
		INSERT INTO line_event (channel_id, webhook_event_id, event_type, user_key, occurred_at, received_at, redelivered, payload_enc)
		SELECT c, w, t, k, o, r, d, p FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[],
			$6::timestamptz[], $7::boolean[], $8::bytea[]) WITH ORDINALITY AS u(c, w, t, k, o, r, d, p, ord)
		ORDER BY ord
		ON CONFLICT (channel_id, webhook_event_id) DO NOTHING
		RETURNING id, channel_id, webhook_event_id`,
		channels, ids, types, keys, occurred, received, redelivered, payloads)
	if err != nil {
		return nil, classify(err, "insert line events")
	}
	defer rows.Close()
	type ref struct {
		channel int64
		id      string
	}
	got := map[ref]int64{}
	for rows.Next() {
		var r ref
		var id int64
		if err := rows.Scan(&id, &r.channel, &r.id); err != nil {
			return nil, classify(err, "insert line events")
		}
		got[r] = id
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "insert line events")
	}
	inserted := make([]bool, n)
	for i := range evs {
		r := ref{evs[i].ChannelID, evs[i].WebhookEventID}
		if id, ok := got[r]; ok {
			evs[i].ID = id
			inserted[i] = true
			delete(got, r) // a repeat later in the batch was not inserted
		}
	}
	return inserted, nil
}

// planEachTime has a statement planned at each execution, with its parameters and the
// table's size of the moment, instead of by a plan the connection keeps (pgx prepares
// and caches statements; PostgreSQL switches to a generic plan after five runs and
// keeps it until the table is next analyzed). It is for the statements that pick a few
// rows of line_event and line_friend: those tables fill from empty within seconds (a
// new installation, a burst of new friends), and a plan made while a table was nearly
// empty reads all of it (a scan of every pending event per claim in a burst) until
// autovacuum's next ANALYZE, a minute or more later. Planning these costs far less.
const planEachTime = pgx.QueryExecModeCacheDescribe

// FindEvents finds events by ID, in the order of ids (missing ones are left out).
func (s *LineStore) FindEvents(ctx context.Context, ids []int64) ([]line.StoredEvent, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+prefixed("e.", eventColumns)+`
		FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord) JOIN line_event e ON e.id = u.id ORDER BY u.ord`, planEachTime, ids)
	return s.scanEvents(rows, err, "line events")
}

// PendingEventsOfUsers lists the unprocessed events of the given users (channel and
// blind index pairs), oldest first; withFriends, each with its user's friend record
// (one per user, nil where the user is no friend yet), read in the same statement.
func (s *LineStore) PendingEventsOfUsers(ctx context.Context, users []line.UserRef, withFriends bool) ([]line.StoredEvent, []*line.Friend, error) {
	if len(users) == 0 {
		return nil, nil, nil
	}
	channels := make([]int64, len(users))
	keys := make([][]byte, len(users))
	for i, u := range users {
		channels[i], keys[i] = u.ChannelID, u.UserKey
	}
	// Each user's events are looked up in line_event_pending (LATERAL, its ORDER BY
	// keeps it a lookup per user): a join planned while the statistics lag behind a
	// burst reads every pending event instead.
	const from = `FROM unnest($1::bigint[], $2::bytea[]) AS u(c, k)
		CROSS JOIN LATERAL (SELECT ` + eventColumns + ` FROM line_event
			WHERE channel_id = u.c AND user_key = u.k AND processed_at IS NULL ORDER BY occurred_at, id) e`
	db := pgtx.Tx(ctx)
	if !withFriends {
		rows, err := db.Query(ctx, `SELECT e.* `+from+`
			ORDER BY e.occurred_at, e.id`, planEachTime, channels, keys)
		evs, err := s.scanEvents(rows, err, "pending line events")
		return evs, nil, err
	}
	rows, err := db.Query(ctx, `SELECT e.*, `+prefixed("f.", friendColumns)+` `+from+`
		LEFT JOIN line_friend f ON f.channel_id = u.c AND f.user_key = u.k
		ORDER BY e.occurred_at, e.id`, planEachTime, channels, keys)
	if err != nil {
		return nil, nil, classify(err, "pending line events")
	}
	defer rows.Close()
	var evs []line.StoredEvent
	var friends []*line.Friend
	byID := map[int64]*line.Friend{}
	for rows.Next() {
		var fid, fch *int64
		var enc []byte
		var lang, menu *string
		var following *bool
		ev, err := s.scanEvent(rows, &fid, &fch, &enc, &lang, &following, &menu)
		if err != nil {
			return nil, nil, err
		}
		var f *line.Friend
		if fid != nil {
			if f = byID[*fid]; f == nil {
				f = &line.Friend{ID: *fid, ChannelID: *fch, Language: *lang, Following: *following, RichMenuKind: *menu}
				if f.UserID, err = s.Vault.DecryptPersonal(enc, friendAD(f.ID)); err != nil {
					return nil, nil, err
				}
				byID[f.ID] = f
			}
		}
		evs = append(evs, ev)
		friends = append(friends, f)
	}
	return evs, friends, classify(rows.Err(), "pending line events")
}

// userLockKeySQL is line's userLockKey (the first 8 bytes of SHA-256 over the channel's
// ID, big-endian, and the user's blind index) for a row of line_event e.
const userLockKeySQL = `('x' || encode(substr(sha256(int8send(e.channel_id) || e.user_key), 1, 8), 'hex'))::bit(64)::bigint`

// ClaimEvents takes up to limit pending events, other than ids, whose users' advisory
// locks it takes in the transaction (index line_event_claimable): oldest first among the
// window oldest, skipping users another transaction holds, so that jobs taking up
// events at once take different ones. Not follows, whose language is asked of LINE
// before the transaction, not events without a user, which no user's lock guards, and
// not events that failed and wait for their own job's next attempt.
// The events come without their payloads (PendingEventsOfUsers reads them). A lock is
// tried only on the rows the outer LIMIT pulls, so every lock taken is of an event
// returned.
func (s *LineStore) ClaimEvents(ctx context.Context, ids []int64, limit, window int) ([]line.StoredEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	if !pgtx.InTransaction(ctx) {
		return nil, pgtx.ErrNoTx
	}
	if ids == nil {
		ids = []int64{} // not NULL, which no id would be unequal to
	}
	rows, err := pgtx.Tx(ctx).Query(ctx, `WITH c AS MATERIALIZED (
			SELECT id, channel_id, event_type, user_key, occurred_at FROM line_event
			WHERE `+claimableSQL+` AND id <> ALL($1)
			ORDER BY id LIMIT $3)
		SELECT e.id, e.channel_id, e.event_type, e.user_key, e.occurred_at FROM c e
		WHERE pg_try_advisory_xact_lock(`+userLockKeySQL+`)
		LIMIT $2`, planEachTime, ids, limit, max(window, limit))
	return scanClaimed(rows, err)
}

// claimableSQL is the condition on line_event of the events ClaimEvents may take
// (index line_event_claimable).
const claimableSQL = `processed_at IS NULL AND user_key IS NOT NULL AND event_type <> 'follow' AND outcome = ''`

// ClaimEventsByID takes those of events ids that are claimable, as ClaimEvents does
// (oldest first, each user's lock tried as its event is taken, users held elsewhere
// skipped), found by their keys instead of among the oldest pending.
func (s *LineStore) ClaimEventsByID(ctx context.Context, ids []int64) ([]line.StoredEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if !pgtx.InTransaction(ctx) {
		return nil, pgtx.ErrNoTx
	}
	rows, err := pgtx.Tx(ctx).Query(ctx, `WITH c AS MATERIALIZED (
			SELECT id, channel_id, event_type, user_key, occurred_at FROM line_event
			WHERE id = ANY($1) AND `+claimableSQL+`
			ORDER BY id)
		SELECT e.id, e.channel_id, e.event_type, e.user_key, e.occurred_at FROM c e
		WHERE pg_try_advisory_xact_lock(`+userLockKeySQL+`)`, planEachTime, ids)
	return scanClaimed(rows, err)
}

// scanClaimed reads the events of a claim.
func scanClaimed(rows pgx.Rows, err error) ([]line.StoredEvent, error) {
	if err != nil {
		return nil, classify(err, "claim line events")
	}
	defer rows.Close()
	var out []line.StoredEvent
	for rows.Next() {
		var ev line.StoredEvent
		if err := rows.Scan(&ev.ID, &ev.ChannelID, &ev.Type, &ev.UserKey, &ev.OccurredAt); err != nil {
			return nil, classify(err, "claim line events")
		}
		out = append(out, ev)
	}
	return out, classify(rows.Err(), "claim line events")
}

// MarkEventRetrying sets a pending event's outcome to "retry" (processed_at stays
// NULL; marking it processed sets its final outcome).
func (s *LineStore) MarkEventRetrying(ctx context.Context, id int64) error {
	_, err := pgtx.Tx(ctx).Exec(ctx, `UPDATE line_event SET outcome = 'retry' WHERE id = $1 AND processed_at IS NULL`, id)
	return classify(err, "mark line event retrying")
}

// MarkEventsProcessedAtCommit records one outcome for several events and wipes their
// payloads, with the COMMIT of the Transactor's transaction that ctx carries: one round
// trip with it (an error fails the commit). Elsewhere it runs at once. processed_at is
// the time of the update, at the end of the events' transaction (now() would be its
// start, before the batch's work), one time for the batch.
func (s *LineStore) MarkEventsProcessedAtCommit(ctx context.Context, ids []int64, outcome string) error {
	if len(ids) == 0 {
		return nil
	}
	const markSQL = `UPDATE line_event SET processed_at = statement_timestamp(), outcome = $2, payload_enc = NULL WHERE id = ANY($1)`
	if f, ok := pgtx.FinalOf(ctx); ok {
		f.Add(func(_ context.Context, _ pgx.Tx, b *pgx.Batch) error {
			// A batch's statements take no exec mode: planned each time (see
			// planEachTime) by the transaction's setting instead.
			b.Queue(`SET LOCAL plan_cache_mode = force_custom_plan`)
			b.Queue(markSQL, ids, outcome)
			return nil
		})
		return nil
	}
	_, err := pgtx.Tx(ctx).Exec(ctx, markSQL, planEachTime, ids, outcome)
	return classify(err, "mark line events")
}

// FindOutboundsToSend reads queued messages and their friends with one statement, in
// the order of ids (missing ones are left out).
func (s *LineStore) FindOutboundsToSend(ctx context.Context, ids []int64) ([]line.Outbound, []line.Friend, error) {
	db := pgtx.Tx(ctx)
	rows, err := db.Query(ctx, `SELECT `+prefixed("o.", outboundColumns)+`, f.channel_id, f.user_id_enc, f.language, f.following, f.richmenu_kind
		FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, ord)
		JOIN line_outbound o ON o.id = u.id JOIN line_friend f ON f.id = o.friend_id
		ORDER BY u.ord`, ids)
	if err != nil {
		return nil, nil, classify(err, "line outbound")
	}
	defer rows.Close()
	var obs []line.Outbound
	var fs []line.Friend
	for rows.Next() {
		var f line.Friend
		var enc []byte
		o, err := s.scanOutbound(rows, &f.ChannelID, &enc, &f.Language, &f.Following, &f.RichMenuKind)
		if err != nil {
			return nil, nil, err
		}
		f.ID = o.FriendID
		if f.UserID, err = s.Vault.DecryptPersonal(enc, friendAD(f.ID)); err != nil {
			return nil, nil, err
		}
		obs = append(obs, o)
		fs = append(fs, f)
	}
	return obs, fs, classify(rows.Err(), "line outbound")
}

// idBlock is how many identities of a sequence an instance takes at once. A row's
// encryption names its ID (the AD), so the ID is taken before the INSERT; taking
// them in blocks saves a round trip per row. IDs stay unique (a sequence hands each
// out once); their order no longer follows the order of insertion exactly, and an
// instance that stops leaves a gap.
const idBlock = 32

// idPool keeps the identities an instance took and has not used yet, per sequence.
type idPool struct {
	mu   sync.Mutex
	free map[string][]int64
}

// next returns an unused identity of the sequence of table.column.
func (p *idPool) next(ctx context.Context, table, column string) (int64, error) {
	key := table + "." + column
	p.mu.Lock()
	if ids := p.free[key]; len(ids) > 0 {
		id := ids[0]
		p.free[key] = ids[1:]
		p.mu.Unlock()
		return id, nil
	}
	p.mu.Unlock()
	// nextval is not transactional: what is taken stays taken if ctx's transaction
	// rolls back, as with a single nextval.
	rows, err := pgtx.Tx(ctx).Query(ctx, `SELECT nextval(pg_get_serial_sequence($1, $2)) FROM generate_series(1, $3)`, table, column, idBlock)
	if err != nil {
		return 0, classify(err, table+" id")
	}
	defer rows.Close()
	ids := make([]int64, 0, idBlock)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, classify(err, table+" id")
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, classify(err, table+" id")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free == nil {
		p.free = map[string][]int64{}
	}
	p.free[key] = append(p.free[key], ids[1:]...)
	return ids[0], nil
}

// scanEvents reads the events of a query's rows (err is the query's).
func (s *LineStore) scanEvents(rows pgx.Rows, err error, what string) ([]line.StoredEvent, error) {
	if err != nil {
		return nil, classify(err, what)
	}
	defer rows.Close()
	var out []line.StoredEvent
	for rows.Next() {
		ev, err := s.scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, classify(rows.Err(), what)
}
