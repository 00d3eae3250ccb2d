package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/clock"
	"github.com/renraku/renraku/internal/postgres/pgtx"
)

// ActorKind says what kind of party acted.
type ActorKind string

// The actor kinds.
const (
	Staff    ActorKind = "staff"
	Guardian ActorKind = "guardian"
	System   ActorKind = "system"
	Operator ActorKind = "operator" // someone at the command line (renraku admin …)
	// Anonymous is someone not (yet) signed in, such as a failed sign-in with an
	// unknown login ID.
	Anonymous ActorKind = "anonymous"
)

// Actor is who acted: a kind and, for staff and guardians, their internal ID.
type Actor struct {
	Kind ActorKind
	ID   int64
}

// SystemActor is renraku itself (jobs, retention, webhook processing).
var SystemActor = Actor{Kind: System}

// OperatorActor is a person running renraku's command line on the server.
var OperatorActor = Actor{Kind: Operator}

// Event is one thing that happened.
type Event struct {
	Actor      Actor
	Action     string // dotted lower-case code, e.g. "staff.sign_in", "absence.export"
	ObjectKind string // e.g. "guardian", "conversation"; "" when none
	ObjectID   string // internal ID of the object; never a name or a LINE ID
	BoardID    int64
	SchoolID   int64
	RemoteAddr netip.Addr
	// Detail holds counts, flags and short codes: int, int64, float64, bool, or string
	// of at most 80 bytes. Anything else is refused, so personal values cannot slip in.
	Detail map[string]any
}

// MAC computes the chain's keyed MAC over data. The key must live outside the database
// (renraku uses a PRF from the keyset file).
type MAC func(data []byte) ([]byte, error)

// Log records and verifies audit events.
type Log struct {
	mac MAC
	// clock stamps events; the package's tests move it.
	clock clock.Clock
	// Logger reports a seal that failed after its transactions committed (their
	// events stay pending for the next seal); nil: slog's default.
	Logger *slog.Logger
	seal   sealRounds
}

// New returns a Log whose chain is keyed by mac.
func New(mac MAC) *Log {
	return &Log{mac: mac}
}

// ErrInvalidEvent is returned for an event that breaks the rules above.
var ErrInvalidEvent = errors.New("audit: invalid event")

var actionRE = regexp.MustCompile(`^[a-z0-9_.]{3,80}$`)

func (e *Event) validate() error {
	switch e.Actor.Kind {
	case Staff, Guardian:
		if e.Actor.ID <= 0 {
			return fmt.Errorf("%w: %s actor needs an ID", ErrInvalidEvent, e.Actor.Kind)
		}
	case System, Operator, Anonymous:
	default:
		return fmt.Errorf("%w: unknown actor kind %q", ErrInvalidEvent, e.Actor.Kind)
	}
	if !actionRE.MatchString(e.Action) {
		return fmt.Errorf("%w: action %q", ErrInvalidEvent, e.Action)
	}
	if len(e.ObjectKind) > 40 || len(e.ObjectID) > 80 {
		return fmt.Errorf("%w: object too long", ErrInvalidEvent)
	}
	for k, v := range e.Detail {
		switch x := v.(type) {
		case int, int64, float64, bool:
		case string:
			if len(x) > 80 {
				return fmt.Errorf("%w: detail %q longer than 80 bytes", ErrInvalidEvent, k)
			}
		default:
			return fmt.Errorf("%w: detail %q has type %T (only numbers, booleans and short codes)", ErrInvalidEvent, k, v)
		}
	}
	return nil
}

// row is an audit_event row as stored.
type row struct {
	Seq        int64
	OccurredAt time.Time
	ActorKind  string
	ActorID    int64
	Action     string
	ObjectKind string
	ObjectID   string
	BoardID    int64
	SchoolID   int64
	RemoteAddr string
	Detail     string
	PrevMAC    []byte
	MAC        []byte
	// PendingID is the audit_pending row a sealed row came from (0: appended directly).
	PendingID int64
}

// canonical is the MAC input: every field length-prefixed, so no two rows encode alike.
func (r *row) canonical() []byte {
	b := make([]byte, 0, 256)
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) { b = binary.BigEndian.AppendUint64(b, uint64(n)) }
	str("renraku.audit.v1")
	num(r.Seq)
	num(r.OccurredAt.UnixMicro())
	str(r.ActorKind)
	num(r.ActorID)
	str(r.Action)
	str(r.ObjectKind)
	str(r.ObjectID)
	num(r.BoardID)
	num(r.SchoolID)
	str(r.RemoteAddr)
	str(r.Detail)
	str(string(r.PrevMAC))
	return b
}

// detailJSON encodes Detail with sorted keys, so the stored text is deterministic.
func detailJSON(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		vb, err := json.Marshal(d[k])
		if err != nil {
			return "", err
		}
		buf = append(append(append(buf, kb...), ':'), vb...)
	}
	return string(append(buf, '}')), nil
}

// Record appends e to the log inside the context's transaction: it commits with the
// transaction's work, or not at all. In a transaction of the transactor
// (internal/postgres), which carries a pgtx.Final, the event is inserted into
// audit_pending with the COMMIT, without locking anything, and sealed into the chain
// right after the commit, before the transactor returns (Seal: one seal for all the
// transactions that committed meanwhile). Elsewhere it is appended to the chain at
// once, and the chain's head stays locked until that transaction ends: callers record
// last.
func (l *Log) Record(ctx context.Context, e Event) error {
	r, err := l.newRow(e)
	if err != nil {
		return err
	}
	if f, ok := pgtx.FinalOf(ctx); ok {
		// The transactor inserts the transaction's events as pending with its COMMIT,
		// and seals them into the chain once it has committed.
		p := f.Once(pendingKey{}, func() any { return &pending{} }, func(v any) func(context.Context, pgx.Tx, *pgx.Batch) error {
			return func(ctx context.Context, tx pgx.Tx, b *pgx.Batch) error {
				queuePending(b, v.(*pending).rows)
				return nil
			}
		}).(*pending)
		p.rows = append(p.rows, r)
		f.AfterCommit(pendingKey{}, l.sealCommitted)
		return nil
	}
	tx := pgtx.Tx(ctx)
	b := &pgx.Batch{}
	if err := l.append(ctx, tx, b, []row{r}); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, b.QueuedQueries[0].SQL, b.QueuedQueries[0].Arguments...); err != nil {
		return fmt.Errorf("audit: insert: %w", err)
	}
	return nil
}

// newRow checks e and makes its row, stamped now.
func (l *Log) newRow(e Event) (row, error) {
	if err := e.validate(); err != nil {
		return row{}, err
	}
	detail, err := detailJSON(e.Detail)
	if err != nil {
		return row{}, fmt.Errorf("audit: %w", err)
	}
	r := row{
		OccurredAt: l.clock.Now().UTC().Truncate(time.Microsecond),
		ActorKind:  string(e.Actor.Kind),
		ActorID:    e.Actor.ID,
		Action:     e.Action,
		ObjectKind: e.ObjectKind,
		ObjectID:   e.ObjectID,
		BoardID:    e.BoardID,
		SchoolID:   e.SchoolID,
		Detail:     detail,
	}
	if e.RemoteAddr.IsValid() {
		r.RemoteAddr = e.RemoteAddr.Unmap().String()
	}
	return r, nil
}

// pending are the events a transaction recorded, to insert as pending at its commit.
type pending struct{ rows []row }

// Len and Truncate let a savepoint rolled back take back the events recorded in it.
func (p *pending) Len() int       { return len(p.rows) }
func (p *pending) Truncate(n int) { p.rows = p.rows[:n] }

type pendingKey struct{}

// append locks the chain's head, links rows to it in order and queues their insert in
// b: one statement, which the caller sends.
func (l *Log) append(ctx context.Context, tx pgx.Tx, b *pgx.Batch, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	var seq int64
	var prev []byte
	// The server's role may not lock audit_chain itself (that needs UPDATE on it); the
	// owner's audit_lock_head does, and the insert trigger moves the head to each row.
	if err := tx.QueryRow(ctx, `SELECT head_seq, head_mac FROM audit_lock_head()`).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit: lock chain: %w", err)
	}
	return l.link(b, seq, prev, rows)
}

// link numbers and MACs rows after the head (seq, prev), in order, and queues their
// insert in b.
func (l *Log) link(b *pgx.Batch, seq int64, prev []byte, rows []row) error {
	cols := make([][]any, 14)
	for i := range rows {
		r := &rows[i]
		seq++
		r.Seq, r.PrevMAC = seq, prev
		var err error
		if r.MAC, err = l.mac(r.canonical()); err != nil {
			return fmt.Errorf("audit: mac: %w", err)
		}
		prev = r.MAC
		for j, v := range []any{r.Seq, r.OccurredAt, r.ActorKind, r.ActorID, r.Action, r.ObjectKind, r.ObjectID,
			r.BoardID, r.SchoolID, r.RemoteAddr, r.Detail, r.PrevMAC, r.MAC, r.PendingID} {
			cols[j] = append(cols[j], v)
		}
	}
	if len(rows) == 1 {
		args := make([]any, 14)
		for j := range cols {
			args[j] = cols[j][0]
		}
		b.Queue(insertOne, args...)
		return nil
	}
	// Rows in the order given (WITH ORDINALITY): the trigger accepts each only after
	// the one before it.
	b.Queue(insertMany, typed(cols)...)
	return nil
}

const insertOne = `
	INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, action, object_kind, object_id,
		board_id, school_id, remote_addr, detail, prev_mac, mac, pending_id)
	VALUES ($1, $2, $3, NULLIF($4, 0), $5, $6, $7, NULLIF($8, 0), NULLIF($9, 0), NULLIF($10, '')::inet, $11::json, $12, $13,
		NULLIF($14, 0))`

const insertMany = `
	INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, action, object_kind, object_id,
		board_id, school_id, remote_addr, detail, prev_mac, mac, pending_id)
	SELECT seq, occurred_at, actor_kind, NULLIF(actor_id, 0), action, object_kind, object_id, NULLIF(board_id, 0),
		NULLIF(school_id, 0), NULLIF(remote_addr, '')::inet, detail::json, prev_mac, mac, NULLIF(pending_id, 0)
	FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[],
		$9::bigint[], $10::text[], $11::text[], $12::bytea[], $13::bytea[], $14::bigint[])
		WITH ORDINALITY AS r(seq, occurred_at, actor_kind, actor_id, action, object_kind, object_id, board_id, school_id,
			remote_addr, detail, prev_mac, mac, pending_id, n)
	ORDER BY n`

// typed turns the columns into typed arrays for insertMany.
func typed(cols [][]any) []any {
	out := make([]any, len(cols))
	for j, c := range cols {
		switch c[0].(type) {
		case int64:
			a := make([]int64, len(c))
			for i, v := range c {
				a[i] = v.(int64)
			}
			out[j] = a
		case time.Time:
			a := make([]time.Time, len(c))
			for i, v := range c {
				a[i] = v.(time.Time)
			}
			out[j] = a
		case string:
			a := make([]string, len(c))
			for i, v := range c {
				a[i] = v.(string)
			}
			out[j] = a
		case []byte:
			a := make([][]byte, len(c))
			for i, v := range c {
				a[i] = v.([]byte)
			}
			out[j] = a
		}
	}
	return out
}

// Beginner starts transactions: *pgxpool.Pool satisfies it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RecordAlone records e in a transaction of its own, for events with no other work
// (a sign-in failure, a command-line action).
func (l *Log) RecordAlone(ctx context.Context, db Beginner, e Event) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return l.Record(pgtx.With(ctx, tx), e) })
}
