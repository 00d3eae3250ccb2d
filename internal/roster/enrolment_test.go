package roster_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func intp(n int) *int { return &n }

func TestParseClassesEnrolment(t *testing.T) {
	t.Parallel()
	rows, errs := roster.ParseClasses(crlf("年度,学年,組,在籍者数", "2026,1,1組,30", "2026,1,2組,", "2026,2,1組,３５", "2026,2,2組,28人", "2026,3,1組,0"))
	if len(errs) > 0 {
		t.Fatalf("errors: %+v", errs)
	}
	want := []roster.ClassRow{
		{Line: 2, Year: 2026, Grade: 1, Name: "1組", HasEnrolment: true, Enrolment: intp(30)},
		{Line: 3, Year: 2026, Grade: 1, Name: "2組", HasEnrolment: true},
		{Line: 4, Year: 2026, Grade: 2, Name: "1組", HasEnrolment: true, Enrolment: intp(35)},
		{Line: 5, Year: 2026, Grade: 2, Name: "2組", HasEnrolment: true, Enrolment: intp(28)},
		{Line: 6, Year: 2026, Grade: 3, Name: "1組", HasEnrolment: true, Enrolment: intp(0)},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// In English and in another order.
	rows, errs = roster.ParseClasses(crlf("enrolment,class,grade,year", "31,1,1,2026"))
	if len(errs) > 0 || len(rows) != 1 || rows[0].Enrolment == nil || *rows[0].Enrolment != 31 {
		t.Errorf("English header: %+v %+v", rows, errs)
	}

	// Every bad figure is reported with its line and column.
	_, errs = roster.ParseClasses(crlf("年度,学年,組,在籍者数", "2026,1,1組,-1", "2026,1,2組,三十", "2026,1,3組,1000", "2026,1,4組,3.5"))
	var got []rowErr
	for _, e := range errs {
		got = append(got, rowErr{e.Line, e.Column, e.MessageID})
	}
	wantErrs := []rowErr{
		{2, "在籍者数", "roster.enrolment.invalid"}, {3, "在籍者数", "roster.enrolment.invalid"},
		{4, "在籍者数", "roster.enrolment.invalid"}, {5, "在籍者数", "roster.enrolment.invalid"},
	}
	if diff := cmp.Diff(wantErrs, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	// A line with fewer cells than the header is refused, as in any file.
	if _, errs := roster.ParseClasses(crlf("年度,学年,組,在籍者数", "2026,1,1組")); len(errs) != 1 || errs[0].MessageID != "roster.row.cells" {
		t.Errorf("short line: %+v", errs)
	}
}

// TestImportExportEnrolment: an exported classes file carries 在籍者数; filled in
// and imported again it sets the enrolment of the classes that exist (blank clears
// it) and adds new ones; a bad figure refuses the whole file and changes nothing.
func TestImportExportEnrolment(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	y := itoa(w.SchoolA.CurrentYear)
	stored := func() string {
		t.Helper()
		var out []string
		rows, err := w.Pool.Query(t.Context(), `SELECT grade::text || '年' || name || '=' || coalesce(enrolment::text, '') FROM class
			WHERE school_id = $1 AND year = $2 ORDER BY grade, name`, w.SchoolA.ID, w.SchoolA.CurrentYear)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	export := func() string {
		t.Helper()
		f, err := s.Export(ctx, w.SchoolA.ID, roster.KindClasses, 0, roster.UTF8BOM)
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := roster.Decode(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}

	before := stored()
	if before != "1年1組= 1年2組=" {
		t.Fatalf("fixture classes: %s", before)
	}
	if got, want := export(), crlf("年度,学年,組,在籍者数", y+",1,1組,", y+",1,2組,"); got != want {
		t.Fatalf("export = %q, want %q", got, want)
	}

	// Filled in, with a new class: one added, two enrolments set.
	res, err := s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, crlf("年度,学年,組,在籍者数", y+",1,1組,30", y+",1,2組,２９", y+",2,1組,"), roster.ShiftJIS))
	if err != nil || len(res.Errors) > 0 || res.Rows != 1 || res.Updated != 2 || res.Unchanged != 0 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	if got := stored(); got != "1年1組=30 1年2組=29 2年1組=" {
		t.Errorf("stored after import: %s", got)
	}
	exported := export()
	if want := crlf("年度,学年,組,在籍者数", y+",1,1組,30", y+",1,2組,29", y+",2,1組,"); exported != want {
		t.Errorf("export = %q, want %q", exported, want)
	}

	// The export imported as it is changes nothing.
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, exported, roster.UTF8BOM))
	if err != nil || len(res.Errors) > 0 || res.Rows != 0 || res.Updated != 0 || res.Unchanged != 3 {
		t.Fatalf("round trip import = %+v, %v", res, err)
	}

	// One bad figure: the whole file is refused with the line and column, and nothing
	// changes (not the good line either).
	audits := count(t, w, `SELECT count(*) FROM audit_event`)
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, crlf("年度,学年,組,在籍者数", y+",1,1組,31", y+",1,2組,abc"), roster.UTF8))
	if err != nil || res.Rows != 0 || res.Updated != 0 {
		t.Fatalf("bad import = %+v, %v", res, err)
	}
	if diff := cmp.Diff([]rowErr{{3, "在籍者数", "roster.enrolment.invalid"}}, rowErrs(res.Errors)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if got := stored(); got != "1年1組=30 1年2組=29 2年1組=" {
		t.Errorf("a refused file changed enrolments: %s", got)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event`); n != audits {
		t.Errorf("a refused file was audited: %d events, was %d", n, audits)
	}

	// Blank clears; a file without the column still refuses existing classes.
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, crlf("年度,学年,組,在籍者数", y+",1,1組,"), roster.UTF8))
	if err != nil || len(res.Errors) > 0 || res.Updated != 1 {
		t.Fatalf("clearing import = %+v, %v", res, err)
	}
	if got := stored(); got != "1年1組= 1年2組=29 2年1組=" {
		t.Errorf("after clearing: %s", got)
	}
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, crlf("年度,学年,組", y+",1,2組"), roster.UTF8))
	if err != nil || len(res.Errors) != 1 || res.Errors[0].MessageID != "roster.db.class_exists" {
		t.Errorf("existing class without the column: %+v, %v", res, err)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND detail->>'kind' = 'classes' AND detail->>'update' = '2'`, roster.AuditImport); n != 1 {
		t.Errorf("%d import audit events with 2 enrolments updated, want 1", n)
	}
}
