package audit

import (
	"context"

	"errors"
	"fmt"

	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/txn"
)

// Viewer is the administrators' read access to the audit log (P5: viewable and
// exportable by administrators). Viewing and exporting are themselves audited, in the
// transaction that reads.
type Viewer struct {
	Tx  txn.Transactor
	Log *Log
	// Staff returns staff members' names and roles for the actor column.
	Staff func(ctx context.Context, staffIDs []int64) (map[int64]StaffName, error)
	// Objects names the objects rows refer to as staff would (1年1組, not "class 1"),
	// never with a child's or a parent's name; what it does not find keeps its number.
	Objects func(ctx context.Context, refs []Ref) (map[Ref]ObjectName, error)
	// Schools lists the schools of the actor's board, which a board administrator may
	// filter the board's log by (school.Service's Schools).
	Schools func(ctx context.Context) ([]SchoolName, error)
}

// SchoolName is a school the board-wide viewer offers as a filter.
type SchoolName struct {
	ID   int64
	Name string
}

// Query filters the log.
type Query struct {
	// SchoolID limits rows to one school; 0 is everything the actor may see (a board
	// administrator: the whole board; a school administrator: their school).
	SchoolID int64
	// ActorID limits rows to one staff member's actions.
	ActorID int64
	// Action is a prefix such as "staff." or "class.create".
	Action string
	// From and To are days (inclusive) in Asia/Tokyo; zero leaves that end open.
	From, To time.Time
	// Page is 1-based; a page holds PageSize rows, newest first.
	Page int
}

// PageSize is the number of rows a page of the viewer shows.
const PageSize = 100

// MaxExport bounds an export.
const MaxExport = 100_000

// Entry is one row as the viewer shows it.
type Entry struct {
	Seq       int64
	At        time.Time
	ActorKind string
	ActorID   int64
	ActorName string
	// ActorRole is a staff actor's role code (authz.Role), read with the row.
	ActorRole  string
	Action     string
	ObjectKind string
	ObjectID   string
	// Object is what staff call the object, when Objects found it.
	Object     ObjectName
	SchoolID   int64
	RemoteAddr string
	// Detail is the stored JSON; Details the same, parsed, with referred names.
	Detail  string
	Details []DetailField
}

// Result is one page of entries.
type Result struct {
	Entries []Entry
	Total   int
	Page    int
	Pages   int
}

var actionPrefix = regexp.MustCompile(`^[a-z0-9_.]{0,80}$`)

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return l
}()

// scope checks the actor and returns the SQL filter and its arguments.
func (v *Viewer) scope(ctx context.Context, q *Query) (string, []any, *authz.Actor, error) {
	a := authz.ActorFrom(ctx)
	if err := authz.SignedIn(a); err != nil {
		return "", nil, nil, err
	}
	if q.SchoolID == 0 && a.Role != authz.BoardAdmin {
		q.SchoolID = a.SchoolID
	}
	if err := authz.Check(a, authz.ViewAudit, authz.Target{BoardID: a.BoardID, SchoolID: q.SchoolID}); err != nil {
		if a.Role != authz.BoardAdmin && q.SchoolID != a.SchoolID {
			// Another school's log: as for its other pages, it is not found.
			return "", nil, nil, apperr.E(apperr.NotFound, "error.not_found.title", err)
		}
		return "", nil, nil, err
	}
	if !actionPrefix.MatchString(q.Action) {
		return "", nil, nil, apperr.Fields{"action": "audit.page.action_invalid"}.Err()
	}
	where := []string{"board_id = $1"}
	args := []any{a.BoardID}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.SchoolID != 0 {
		add("school_id = ?", q.SchoolID)
	}
	if q.ActorID != 0 {
		add("actor_kind = 'staff' AND actor_id = ?", q.ActorID)
	}
	if q.Action != "" {
		add("starts_with(action, ?)", q.Action)
	}
	if !q.From.IsZero() {
		y, m, d := q.From.In(tokyo).Date()
		add("occurred_at >= ?", time.Date(y, m, d, 0, 0, 0, 0, tokyo))
	}
	if !q.To.IsZero() {
		y, m, d := q.To.In(tokyo).Date()
		add("occurred_at < ?", time.Date(y, m, d+1, 0, 0, 0, 0, tokyo))
	}
	return " WHERE " + strings.Join(where, " AND "), args, a, nil
}

func (q Query) detail() map[string]any {
	d := map[string]any{"school_id": q.SchoolID}
	if q.ActorID != 0 {
		d["actor_id"] = q.ActorID
	}
	if q.Action != "" {
		d["action"] = q.Action
	}
	if !q.From.IsZero() {
		d["from"] = q.From.In(tokyo).Format("2006-01-02")
	}
	if !q.To.IsZero() {
		d["to"] = q.To.In(tokyo).Format("2006-01-02")
	}
	return d
}

// Page is the viewer's page: a page of the log and, on the board-wide viewer of a
// board administrator, the board's schools to filter by.
type Page struct {
	Result
	// SchoolFilter is true on a board administrator's board-wide viewer; Schools are
	// then the board's schools.
	SchoolFilter bool
	Schools      []SchoolName
}

// OpenPage returns the viewer's page for q (Search); boardWide is the board's viewer,
// not a school's. Filters Search refuses (apperr.Invalid) come back with the rest of
// the page, so the form can say why.
func (v *Viewer) OpenPage(ctx context.Context, q Query, boardWide bool) (Page, error) {
	res, err := v.Search(ctx, q)
	p := Page{Result: res}
	if err != nil && apperr.FieldsOf(err) == nil && apperr.KindOf(err) != apperr.Invalid {
		return p, err
	}
	a := authz.ActorFrom(ctx)
	if boardWide && authz.Check(a, authz.ViewAudit, authz.Target{BoardID: a.BoardIDOrZero()}) == nil {
		schools, serr := v.Schools(ctx)
		if serr != nil {
			return p, serr
		}
		p.SchoolFilter, p.Schools = true, schools
	}
	return p, err
}

// Search returns one page of matching rows, newest first, and records the view.
func (v *Viewer) Search(ctx context.Context, q Query) (Result, error) {
	where, args, a, err := v.scope(ctx, &q)
	if err != nil {
		return Result{Page: 1, Pages: 1}, err
	}
	if q.Page < 1 {
		q.Page = 1
	}
	res := Result{Page: q.Page}
	err = v.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_event`+where, args...).Scan(&res.Total); err != nil {
			return fmt.Errorf("audit view: %w", err)
		}
		res.Pages = max(1, (res.Total+PageSize-1)/PageSize)
		var err error
		res.Entries, err = v.read(ctx, where+` ORDER BY seq DESC LIMIT `+strconv.Itoa(PageSize)+` OFFSET `+strconv.Itoa((q.Page-1)*PageSize), args)
		if err != nil {
			return err
		}
		d := q.detail()
		d["page"], d["rows"] = q.Page, len(res.Entries)
		return v.Log.Record(ctx, Event{Actor: Actor{Kind: Staff, ID: a.StaffID}, Action: "audit.view", BoardID: a.BoardID, SchoolID: q.SchoolID, Detail: d})
	})
	return res, err
}

func (v *Viewer) read(ctx context.Context, tail string, args []any) ([]Entry, error) {
	tx := pgtx.Tx(ctx)
	rows, err := tx.Query(ctx, `SELECT seq, occurred_at, actor_kind, COALESCE(actor_id, 0), action, object_kind, object_id,
		COALESCE(school_id, 0), COALESCE(host(remote_addr), ''), detail::text FROM audit_event`+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("audit view: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.Seq, &e.At, &e.ActorKind, &e.ActorID, &e.Action, &e.ObjectKind, &e.ObjectID, &e.SchoolID, &e.RemoteAddr, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("audit view: %w", err)
	}
	var ids []int64
	seen := map[int64]bool{}
	var refs []Ref
	seenRef := map[Ref]bool{}
	for i := range out {
		e := &out[i]
		e.Details = parseDetail(e.Detail)
		if e.ActorKind == string(Staff) && !seen[e.ActorID] {
			seen[e.ActorID] = true
			ids = append(ids, e.ActorID)
		}
		for _, r := range e.refs() {
			if !seenRef[r] {
				seenRef[r] = true
				refs = append(refs, r)
			}
		}
	}
	if v.Staff != nil {
		names, err := v.Staff(ctx, ids)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].ActorKind == string(Staff) {
				out[i].ActorName, out[i].ActorRole = names[out[i].ActorID].Name, names[out[i].ActorID].Role
			}
		}
	}
	if v.Objects != nil && len(refs) > 0 {
		objects, err := v.Objects(ctx, refs)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i].name(objects)
		}
	}
	return out, nil
}

// ErrTooMany refuses an export over MaxExport rows: narrow the filter.
var ErrTooMany = errors.New("audit export: too many rows")

// Export returns every matching row (oldest first) as a CSV file in enc, in the
// language of t: each code in words beside the code itself in a column of its own (for
// filtering in a spreadsheet), the detail in words and as stored. It records the export.
// Staff names are text a person typed and are neutralised like every other exported
// cell (csvexport).
func (v *Viewer) Export(ctx context.Context, q Query, enc csvexport.Encoding, t T) (csvexport.File, int, error) {
	where, args, a, err := v.scope(ctx, &q)
	if err != nil {
		return csvexport.File{}, 0, err
	}
	var n int
	var f csvexport.File
	err = v.Tx.InTx(ctx, func(ctx context.Context) error {
		tx := pgtx.Tx(ctx)
		var total int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_event`+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		if total > MaxExport {
			return apperr.E(apperr.Invalid, "audit.page.too_many", ErrTooMany)
		}
		entries, err := v.read(ctx, where+` ORDER BY seq`, args)
		if err != nil {
			return err
		}
		var head []string
		for _, id := range []string{"at", "actor_kind", "actor_kind_code", "actor_id", "actor", "role", "action", "action_code", "object_kind",
			"object_kind_code", "object_id", "object", "school_id", "remote", "detail", "detail_json"} {
			head = append(head, t("audit.csv."+id))
		}
		tab := csvexport.NewTable(head...)
		for _, e := range entries {
			w := Describe(e, t)
			tab.Row(csvexport.Text(e.At.In(tokyo).Format("2006-01-02 15:04:05")), csvexport.Text(w.ActorKind), csvexport.Text(e.ActorKind),
				csvexport.Int(e.ActorID), csvexport.Text(e.ActorName), csvexport.Text(w.Role), csvexport.Text(w.Action), csvexport.Text(e.Action),
				csvexport.Text(w.ObjectKind), csvexport.Text(e.ObjectKind), csvexport.Text(e.ObjectID), csvexport.Text(w.Object),
				csvexport.Int(e.SchoolID), csvexport.Text(e.RemoteAddr), csvexport.Text(w.DetailText()), csvexport.Text(e.Detail))
		}
		if f, err = tab.Encode(enc); err != nil {
			return err
		}
		n = len(entries)
		d := q.detail()
		d["rows"] = n
		d["encoding"] = string(enc)
		d["substituted"] = f.Substituted
		return v.Log.Record(ctx, Event{Actor: Actor{Kind: Staff, ID: a.StaffID}, Action: "audit.export", BoardID: a.BoardID, SchoolID: q.SchoolID, Detail: d})
	})
	if err != nil {
		return csvexport.File{}, 0, err
	}
	return f, n, nil
}
