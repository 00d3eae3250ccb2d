package roster_test

import (
	"bytes"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

// rosterTables are the tables an import may write, counted before and after each
// fuzzed file.
var rosterTables = []string{"class", "club", "staff", "staff_assignment", "staff_signin_token", "audit_event"}

// tableOf is the table a kind of file fills.
var tableOf = map[roster.Kind]string{roster.KindClasses: "class", roster.KindClubs: "club",
	roster.KindStaff: "staff", roster.KindAssignments: "staff_assignment"}

func snapshot(t *testing.T, w *stafftest.World) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range rosterTables {
		out[tb] = count(t, w, `SELECT count(*) FROM `+tb)
	}
	return out
}

// FuzzImport feeds every kind of roster file, as given and re-encoded as UTF-8 with a
// BOM and as Shift_JIS, to the import of school A's administrator. A refused file
// changes nothing stored; an accepted one adds exactly its rows (and one audit event),
// and importing it a second time is refused as a duplicate, except a staff file, whose
// accounts are matched by login ID, and a classes file with the 在籍者数 column: the
// second time, every line changes nothing. The seed corpus is
// testdata/fuzz/FuzzImport.
func FuzzImport(f *testing.F) {
	w := stafftest.New(f)
	s := newService(w)
	ctx := w.Ctx(f, w.AdminA)
	f.Fuzz(func(t *testing.T, kind uint8, enc uint8, file []byte) {
		k := roster.Kinds[int(kind)%len(roster.Kinds)]
		// Seeds name the school year as {年度}, so that they stay valid as years pass.
		file = bytes.ReplaceAll(file, []byte("{年度}"), []byte(strconv.Itoa(w.SchoolA.CurrentYear)))
		switch enc % 3 {
		case 1:
			if !utf8.Valid(file) {
				t.Skip("a BOM before invalid UTF-8 is the raw case")
			}
			file = append([]byte("\xEF\xBB\xBF"), file...)
		case 2:
			sj, err := csvexport.Encode(string(file), csvexport.ShiftJIS)
			if err != nil || sj.Substituted > 0 {
				t.Skip("not representable in Shift_JIS")
			}
			file = sj.Data
		}
		before := snapshot(t, w)
		res, err := s.Import(ctx, w.SchoolA.ID, k, file)
		if err != nil {
			t.Fatalf("import of a %s file failed instead of reporting row errors: %v", k, err)
		}
		after := snapshot(t, w)
		if len(res.Errors) > 0 {
			if res.Rows != 0 || len(res.Invites) != 0 {
				t.Fatalf("refused import reports %d rows, %d invites", res.Rows, len(res.Invites))
			}
			if diff := cmp.Diff(before, after); diff != "" {
				t.Fatalf("refused %s import changed stored rows (-before +after):\n%s", k, diff)
			}
			return
		}
		// Accepted: exactly the file's rows and one audit event.
		want := maps(before)
		want["audit_event"]++
		if k == roster.KindStaff {
			// New accounts get a link and a staff.create event; changed ones a
			// staff.update event.
			for _, l := range res.Lines {
				switch l.Outcome {
				case roster.OutcomeNew:
					want["staff"]++
					want["staff_signin_token"]++
					want["audit_event"]++
				case roster.OutcomeUpdate:
					want["audit_event"]++
				}
			}
		} else {
			want[tableOf[k]] += res.Rows
		}
		if diff := cmp.Diff(want, after); diff != "" {
			t.Fatalf("accepted %s import of %d rows stored (-want +got):\n%s", k, res.Rows, diff)
		}
		if res.Rows == 0 {
			return
		}
		again, err := s.Import(ctx, w.SchoolA.ID, k, file)
		if k == roster.KindStaff {
			// Accounts are matched by login ID: the same file again changes nothing but
			// says so, line by line, in one more audit event.
			if err != nil || len(again.Errors) > 0 || len(again.Invites) > 0 || len(again.Lines) != res.Rows {
				t.Fatalf("the same staff file imported twice: %+v, %v", again, err)
			}
			for _, l := range again.Lines {
				if l.Outcome != roster.OutcomeSame {
					t.Fatalf("line %d of the same staff file again: %s %v", l.Line, l.Outcome, l.Changes)
				}
			}
			want := maps(after)
			want["audit_event"]++
			if diff := cmp.Diff(want, snapshot(t, w)); diff != "" {
				t.Fatalf("second import of the same staff file stored (-want +got):\n%s", diff)
			}
			return
		}
		if err == nil && len(again.Errors) == 0 && k == roster.KindClasses {
			// A classes file with the 在籍者数 column names the classes it just added
			// as they now are: accepted, and nothing changes but the audit log.
			after["audit_event"]++
			if again.Rows != 0 || again.Updated != 0 || again.Unchanged != res.Rows+res.Updated+res.Unchanged {
				t.Fatalf("the same classes file imported twice: %+v", again)
			}
		} else if err != nil || len(again.Errors) == 0 || again.Rows != 0 {
			t.Fatalf("the same %s file imported twice: %+v, %v", k, again, err)
		}
		if diff := cmp.Diff(after, snapshot(t, w)); diff != "" {
			t.Fatalf("second import changed stored rows (-before +after):\n%s", diff)
		}
	})
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
