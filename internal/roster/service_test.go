package roster_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/web"
)

func TestMain(m *testing.M) {
	// Hashing fixture passwords at production cost would dominate the run.
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}

// newService wires a roster.Service on w as the app does.
func newService(w *stafftest.World) *roster.Service {
	return &roster.Service{Tx: w.Tx, Schools: w.Schools, Staff: w.Staff, Audit: w.Audit}
}

// encode returns text as a file in enc.
func encode(t *testing.T, text string, enc roster.Encoding) []byte {
	t.Helper()
	f, err := csvexport.Encode(text, enc)
	if err != nil {
		t.Fatal(err)
	}
	return f.Data
}

// count runs a SELECT count(*) query.
func count(t *testing.T, w *stafftest.World, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.Pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// auditDetails returns the detail of every audit event of action at school, oldest
// first, and fails if one holds any of the personal values in forbidden.
func auditDetails(t *testing.T, w *stafftest.World, action string, schoolID int64, forbidden ...string) []map[string]any {
	t.Helper()
	rows, err := w.Pool.Query(context.Background(),
		`SELECT detail::text FROM audit_event WHERE action = $1 AND school_id = $2 ORDER BY seq`, action, schoolID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		for _, f := range forbidden {
			if strings.Contains(raw, f) {
				t.Errorf("%s audit detail %s holds %q", action, raw, f)
			}
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// rowErr is the part of a RowError the tests compare.
type rowErr struct {
	Line      int
	Column    string
	MessageID string
}

func rowErrs(es []roster.RowError) []rowErr {
	out := make([]rowErr, len(es))
	for i, e := range es {
		out[i] = rowErr{e.Line, e.Column, e.MessageID}
	}
	return out
}

func TestImportClassesInEveryEncoding(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	y := itoa(w.SchoolA.CurrentYear)
	tests := []struct {
		name  string
		enc   roster.Encoding
		text  string
		grade int
		class string
	}{
		{"utf-8", roster.UTF8, crlf("年度,学年,組", y+",2,1"), 2, "1組"},
		{"utf-8 with BOM", roster.UTF8BOM, crlf("年度,学年,組", y+",3,Ａ組"), 3, "A組"},
		{"shift_jis", roster.ShiftJIS, crlf("学年,組,年度", "４年,ひまわり,令和"+itoa(w.SchoolA.CurrentYear-2018)), 4, "ひまわり"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := s.Import(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindClasses, encode(t, tt.text, tt.enc))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 || res.Rows != 1 || res.Encoding != tt.enc {
				t.Fatalf("result = %+v, want 1 row in %s", res, tt.enc)
			}
			if n := count(t, w, `SELECT count(*) FROM class WHERE school_id = $1 AND year = $2 AND grade = $3 AND name = $4`,
				w.SchoolA.ID, w.SchoolA.CurrentYear, tt.grade, tt.class); n != 1 {
				t.Errorf("%d classes %d年%s stored, want 1", n, tt.grade, tt.class)
			}
			if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND school_id = $2 AND detail->>'encoding' = $3 AND detail->>'count' = '1' AND detail->>'kind' = 'classes'`,
				roster.AuditImport, w.SchoolA.ID, string(tt.enc)); n != 1 {
				t.Errorf("%d %s audit events for this import, want 1", n, roster.AuditImport)
			}
		})
	}
}

func TestImportStaffIssuesWorkingLinks(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	file := encode(t, crlf("ログインID,氏名,役割", "Yamada.T,髙橋 太郎,教職員", "kawa.h,川﨑 花子,学校管理者"), roster.ShiftJIS)
	res, err := s.Import(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindStaff, file)
	if err != nil || len(res.Errors) > 0 || res.Rows != 2 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	type account struct {
		Login, Name string
		School      int64
		Role        authz.Role
	}
	var got []account
	for _, inv := range res.Invites {
		got = append(got, account{inv.Staff.Login.Reveal(), inv.Staff.Name.Reveal(), inv.Staff.SchoolID, inv.Staff.Role})
		if inv.Token == "" || !inv.Expires.After(stafftest.Soon()) {
			t.Errorf("invite for %s: token %q expires %v", inv.Staff.Login.Reveal(), inv.Token, inv.Expires)
		}
	}
	want := []account{
		{"yamada.t", "髙橋 太郎", w.SchoolA.ID, authz.Teacher},
		{"kawa.h", "川﨑 花子", w.SchoolA.ID, authz.SchoolAdmin},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invites (-want +got):\n%s", diff)
	}

	// Each link sets a password once, and the account can then sign in.
	ctx := context.Background()
	for _, inv := range res.Invites {
		const pw = "haru-no-ogawa-22"
		login, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, pw, pw, staff.Client{})
		if err != nil || login != inv.Staff.Login.Reveal() {
			t.Fatalf("link of %s: %q, %v", inv.Staff.Login.Reveal(), login, err)
		}
		if _, err := w.Staff.SetPasswordFromLink(ctx, inv.Token, pw, pw, staff.Client{}); apperr.KindOf(err) != apperr.NotFound {
			t.Errorf("link of %s worked twice: %v", login, err)
		}
		if _, err := w.Staff.PasswordSignIn(ctx, login, pw, staff.Client{}); err != nil {
			t.Errorf("sign in as %s: %v", login, err)
		}
	}

	details := auditDetails(t, w, roster.AuditImport, w.SchoolA.ID, "yamada", "髙橋", "kawa", "川")
	if diff := cmp.Diff([]map[string]any{{"kind": "staff", "count": 2.0, "encoding": "shift_jis", "new": 2.0, "update": 0.0, "same": 0.0}}, details); diff != "" {
		t.Errorf("import audit (-want +got):\n%s", diff)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'staff.create' AND school_id = $1`, w.SchoolA.ID); n != 2+5 {
		t.Errorf("%d staff.create events at school A, want 7 (5 fixtures, 2 imported)", n)
	}
}

// TestImportWithErrorsImportsNothing gives each kind a file of two good and three bad
// rows: nothing is stored, and every bad row is reported with its line.
func TestImportWithErrorsImportsNothing(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	cur := w.SchoolA.CurrentYear
	y := itoa(cur)
	tests := []struct {
		name   string
		as     staff.Staff
		school int64
		kind   roster.Kind
		text   string
		table  string
		want   []rowErr
	}{
		{
			name: "classes at a 中学校", as: w.AdminB, school: w.SchoolB.ID, kind: roster.KindClasses, table: "class",
			text: crlf("年度,学年,組",
				y+",2,1組",            // good
				y+",1,1組",            // ClassB11
				y+",4,1組",            // 中学校 has 3 grades
				itoa(cur+2)+",1,3組",  // too far ahead
				itoa(cur+1)+",3,2組"), // good
			want: []rowErr{{3, "組", "roster.db.class_exists"}, {4, "学年", "roster.db.grade_too_high"}, {5, "年度", "roster.db.year_out_of_range"}},
		},
		{
			name: "clubs", as: w.AdminA, school: w.SchoolA.ID, kind: roster.KindClubs, table: "club",
			text: crlf("年度,部活動名",
				y+",将棋部",
				y+",サッカー部",                    // ClubA
				itoa(cur-2)+",囲碁部",            // too long ago
				y+","+strings.Repeat("部", 31), // the parser's own check
				itoa(cur-1)+",囲碁部"),
			want: []rowErr{{3, "部活動名", "roster.db.club_exists"}, {4, "年度", "roster.db.year_out_of_range"}, {5, "部活動名", "roster.text.too_long"}},
		},
		{
			name: "staff", as: w.AdminA, school: w.SchoolA.ID, kind: roster.KindStaff, table: "staff",
			text: crlf("ログインID,氏名,役割",
				"new.one,新任 一郎,教職員",
				"ADMIN.B,他校 次郎,教職員", // taken at school B: login IDs are unique everywhere
				"admin.a,校長 花子,教職員", // the importer's own role
				"new.two,新任 二郎,学校管理者",
				"new.three,新任 三郎,校長"), // not a role
			want: []rowErr{{3, "ログインID", "roster.db.login_elsewhere"}, {4, "役割", "roster.db.own_role"}, {6, "役割", "roster.role.invalid"}},
		},
		{
			name: "assignments", as: w.AdminA, school: w.SchoolA.ID, kind: roster.KindAssignments, table: "staff_assignment",
			text: crlf("年度,ログインID,職務,対象",
				y+",teacher.a,担任,1年2組",
				y+",nobody.here,担任,1年2組",
				y+",teacher.a,副担任,1年9組",
				y+",homeroom.a11,担任,1年1組", // held already
				itoa(cur+1)+",teacher.a,学校宛て連絡,"),
			want: []rowErr{{3, "ログインID", "roster.db.unknown_login"}, {4, "対象", "roster.db.unknown_class"}, {5, "対象", "roster.db.assignment_exists"}},
		},
	}
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			countRows := `SELECT count(*) FROM ` + tt.table
			before := count(t, w, countRows)
			res, err := s.Import(w.Ctx(t, tt.as), tt.school, tt.kind, []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rowErrs(res.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if after := count(t, w, countRows); res.Rows != 0 || len(res.Invites) != 0 || after != before {
				t.Errorf("imported despite errors: Rows %d, %d invites, %s rows %d → %d", res.Rows, len(res.Invites), tt.table, before, after)
			}
			if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND detail->>'kind' = $2`, roster.AuditImport, string(tt.kind)); n != 0 {
				t.Errorf("%d audit events for a refused import", n)
			}
			for _, lang := range []string{"ja", "en"} {
				for _, e := range res.Errors {
					if got := cat.Localizer(lang).T(e.MessageID, e.Args); got == e.MessageID || strings.Contains(got, "<no value>") {
						t.Errorf("%s %s = %q", lang, e.MessageID, got)
					}
				}
			}
		})
	}
}

func TestImportAssignments(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	cur := w.SchoolA.CurrentYear
	y := itoa(cur)
	file := []byte(crlf("年度,ログインID,職務,対象",
		y+",teacher.a,担任,１年２組",
		y+",teacher.a,顧問,サッカー部",
		y+",advisor.a,副担任,1年1組",
		itoa(cur+1)+",teacher.a,学校宛て連絡,"))
	res, err := s.Import(ctx, w.SchoolA.ID, roster.KindAssignments, file)
	if err != nil || len(res.Errors) > 0 || res.Rows != 4 {
		t.Fatalf("import = %+v, %v", res, err)
	}
	type duty struct {
		Year            int
		Duty            authz.Duty
		ClassID, ClubID int64
	}
	held := func(st staff.Staff) []duty {
		t.Helper()
		got, err := w.Staff.Get(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []duty
		for _, a := range got.Assignments {
			out = append(out, duty{a.Year, a.Duty, a.ClassID, a.ClubID})
		}
		return out
	}
	sortDuties := cmpopts.SortSlices(func(a, b duty) bool { return a.Year < b.Year || a.Year == b.Year && a.Duty < b.Duty })
	want := []duty{{cur, authz.Homeroom, w.ClassA12.ID, 0}, {cur, authz.Advisor, 0, w.ClubA.ID}, {cur + 1, authz.Office, 0, 0}}
	if diff := cmp.Diff(want, held(w.TeacherA), sortDuties); diff != "" {
		t.Errorf("teacher.a's duties (-want +got):\n%s", diff)
	}
	want = []duty{{cur, authz.Advisor, 0, w.ClubA.ID}, {cur, authz.SubHomeroom, w.ClassA11.ID, 0}}
	if diff := cmp.Diff(want, held(w.AdvisorA), sortDuties); diff != "" {
		t.Errorf("advisor.a's duties (-want +got):\n%s", diff)
	}

	// The same file again: every duty is held now.
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindAssignments, file)
	if err != nil || res.Rows != 0 || len(res.Errors) != 4 {
		t.Fatalf("repeat import = %+v, %v", res, err)
	}
	for _, e := range res.Errors {
		if e.MessageID != "roster.db.assignment_exists" {
			t.Errorf("line %d: %s, want roster.db.assignment_exists", e.Line, e.MessageID)
		}
	}
}

// TestImportAssignmentsStayInTheSchool: an assignments file names classes, clubs and
// login IDs of the school it is imported into, never another school's.
func TestImportAssignmentsStayInTheSchool(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	y := itoa(w.SchoolB.CurrentYear)
	// 3年1組 exists only at school B (a 中学校), like ClassB11's school.
	if _, err := w.Schools.CreateClass(w.Ctx(t, w.AdminB), w.SchoolB.ID, school.Class{Year: w.SchoolB.CurrentYear, Grade: 3, Name: "1組"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line string
		want rowErr
	}{
		{"teacher of school B", y + ",teacher.b,担任,1年1組", rowErr{2, "ログインID", "roster.db.unknown_login"}},
		{"administrator of school B", y + ",admin.b,学校宛て連絡,", rowErr{2, "ログインID", "roster.db.unknown_login"}},
		{"board administrator", y + ",board.admin,学校宛て連絡,", rowErr{2, "ログインID", "roster.db.unknown_login"}},
		{"class only school B has", y + ",teacher.a,担任,3年1組", rowErr{2, "対象", "roster.db.unknown_class"}},
		{"club of school B", y + ",teacher.a,顧問,吹奏楽部", rowErr{2, "対象", "roster.db.unknown_club"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := s.Import(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindAssignments, []byte(crlf("年度,ログインID,職務,対象", tt.line)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]rowErr{tt.want}, rowErrs(res.Errors)); diff != "" || res.Rows != 0 {
				t.Errorf("Rows %d, errors (-want +got):\n%s", res.Rows, diff)
			}
		})
	}
	if n := count(t, w, `SELECT count(*) FROM staff_assignment a JOIN staff s ON s.id = a.staff_id
		WHERE a.school_id <> s.school_id OR a.class_id = $1 OR a.club_id = $2`, w.ClassB11.ID, w.ClubB.ID); n != 0 {
		t.Errorf("%d duties cross schools or point at school B's class or club", n)
	}
	// School B's own administrator may give its teacher its class.
	res, err := s.Import(w.Ctx(t, w.AdminB), w.SchoolB.ID, roster.KindAssignments, []byte(crlf("年度,ログインID,職務,対象", y+",teacher.b,担任,1年1組")))
	if err != nil || len(res.Errors) > 0 || res.Rows != 1 {
		t.Fatalf("school B's own import = %+v, %v", res, err)
	}
}

// TestAuthorisation: an actor who cannot see the school gets NotFound, so a school ID
// probe learns nothing; one who can see it (its own teacher) but not manage it gets
// Forbidden, which the console explains instead of pretending the school is missing.
func TestAuthorisation(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	y := itoa(w.SchoolA.CurrentYear)
	files := map[roster.Kind]string{
		roster.KindStaff:       crlf("ログインID,氏名,役割", "new.one,新任 一郎,教職員"),
		roster.KindClasses:     crlf("年度,学年,組", y+",6,1組"),
		roster.KindClubs:       crlf("年度,部活動名", y+",将棋部"),
		roster.KindAssignments: crlf("年度,ログインID,職務,対象", y+",teacher.a,学校宛て連絡,"),
	}
	signedOut := func(*testing.T) context.Context { return context.Background() }
	as := func(st staff.Staff) func(*testing.T) context.Context {
		return func(t *testing.T) context.Context { return w.Ctx(t, st) }
	}
	tests := []struct {
		name   string
		ctx    func(*testing.T) context.Context
		school int64
		kind   roster.Kind
		want   apperr.Kind // of Import and Export; Internal means allowed
	}{
		{"administrator of another school", as(w.AdminB), w.SchoolA.ID, roster.KindStaff, apperr.NotFound},
		{"administrator of another school, structure", as(w.AdminB), w.SchoolA.ID, roster.KindClasses, apperr.NotFound},
		{"teacher of another school", as(w.TeacherB), w.SchoolA.ID, roster.KindClubs, apperr.NotFound},
		{"teacher of the school", as(w.TeacherA), w.SchoolA.ID, roster.KindStaff, apperr.Forbidden},
		{"homeroom teacher of the school", as(w.HomeroomA11), w.SchoolA.ID, roster.KindAssignments, apperr.Forbidden},
		{"no such school", as(w.AdminA), w.SchoolB.ID + 1000, roster.KindClasses, apperr.NotFound},
		{"signed out", signedOut, w.SchoolA.ID, roster.KindClasses, apperr.Unauthenticated},
		{"unknown kind", as(w.AdminA), w.SchoolA.ID, roster.Kind("guardians"), apperr.Invalid},
		{"unknown kind, no right", as(w.AdminB), w.SchoolA.ID, roster.Kind("guardians"), apperr.NotFound},
		{"school administrator", as(w.AdminA), w.SchoolA.ID, roster.KindClubs, apperr.Internal},
		{"board administrator", as(w.BoardAdmin), w.SchoolA.ID, roster.KindClasses, apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx(t)
			// Before the import, which would make the preview's lines duplicates.
			if pre, err := s.Preview(ctx, tt.school, tt.kind, []byte(files[tt.kind])); apperr.KindOf(err) != tt.want || (tt.want == apperr.Internal && len(pre.Errors) > 0) {
				t.Errorf("Preview: %+v, %v; want %v", pre, err, tt.want)
			}
			res, err := s.Import(ctx, tt.school, tt.kind, []byte(files[tt.kind]))
			if got := apperr.KindOf(err); got != tt.want || (tt.want == apperr.Internal && (err != nil || len(res.Errors) > 0)) {
				t.Errorf("Import: %+v, %v; want %v", res, err, tt.want)
			}
			if tmpl, err := s.Template(ctx, tt.school, tt.kind, roster.ShiftJIS); apperr.KindOf(err) != tt.want || (err != nil && len(tmpl.Data) > 0) {
				t.Errorf("Template: %v; want %v", err, tt.want)
			}
			out, err := s.Export(ctx, tt.school, tt.kind, 0, roster.UTF8)
			if got := apperr.KindOf(err); got != tt.want || (tt.want == apperr.Internal && err != nil) {
				t.Errorf("Export: %v; want %v", err, tt.want)
			}
			if err != nil && len(out.Data) > 0 {
				t.Errorf("refused Export wrote %q", out.Data)
			}
		})
	}
	t.Cleanup(func() {
		// Only the two allowed cases may have left anything behind.
		if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1`, roster.AuditImport); n != 2 {
			t.Errorf("%d import audit events, want 2", n)
		}
		if n := count(t, w, `SELECT count(*) FROM staff WHERE school_id = $1`, w.SchoolA.ID); n != 5 {
			t.Errorf("%d accounts at school A, want the 5 fixtures", n)
		}
	})
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	y := w.SchoolA.CurrentYear
	ignoreLine := cmpopts.IgnoreFields
	tests := []struct {
		name  string
		kind  roster.Kind
		enc   roster.Encoding
		parse func(string) (any, []roster.RowError)
		want  any
		opt   cmp.Option
	}{
		{
			name: "staff", kind: roster.KindStaff, enc: roster.ShiftJIS,
			parse: func(s string) (any, []roster.RowError) { return roster.ParseStaff(s) },
			want: []roster.StaffRow{
				{Login: "admin.a", Name: "校長 花子", Role: "school-admin"},
				{Login: "homeroom.a11", Name: "担任 一郎", Role: "teacher"},
				{Login: "advisor.a", Name: "顧問 三郎", Role: "teacher"},
				{Login: "teacher.a", Name: "教員 四郎", Role: "teacher"},
				{Login: "disabled.a", Name: "休職 六郎", Role: "teacher"},
			},
			opt: ignoreLine(roster.StaffRow{}, "Line"),
		},
		{
			name: "classes", kind: roster.KindClasses, enc: roster.UTF8,
			parse: func(s string) (any, []roster.RowError) { return roster.ParseClasses(s) },
			want:  []roster.ClassRow{{Year: y, Grade: 1, Name: "1組", HasEnrolment: true}, {Year: y, Grade: 1, Name: "2組", HasEnrolment: true}},
			opt:   ignoreLine(roster.ClassRow{}, "Line"),
		},
		{
			name: "clubs", kind: roster.KindClubs, enc: roster.UTF8BOM,
			parse: func(s string) (any, []roster.RowError) { return roster.ParseClubs(s) },
			want:  []roster.ClubRow{{Year: y, Name: "サッカー部"}},
			opt:   ignoreLine(roster.ClubRow{}, "Line"),
		},
		{
			name: "assignments", kind: roster.KindAssignments, enc: roster.UTF8BOM,
			parse: func(s string) (any, []roster.RowError) { return roster.ParseAssignments(s) },
			want: []roster.AssignmentRow{
				{Year: y, Login: "homeroom.a11", Duty: "homeroom", Grade: 1, Class: "1組"},
				{Year: y, Login: "advisor.a", Duty: "advisor", Club: "サッカー部"},
			},
			opt: ignoreLine(roster.AssignmentRow{}, "Line"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := s.Export(w.Ctx(t, w.AdminA), w.SchoolA.ID, tt.kind, 0, tt.enc)
			if err != nil {
				t.Fatal(err)
			}
			text, enc, err := roster.Decode(out.Data)
			if err != nil || enc != tt.enc {
				t.Fatalf("Decode: %s, %v; want %s", enc, err, tt.enc)
			}
			rows, errs := tt.parse(text)
			if len(errs) > 0 {
				t.Fatalf("the export does not parse: %+v", errs)
			}
			if diff := cmp.Diff(tt.want, rows, tt.opt); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND school_id = $2 AND actor_id = $3
				AND detail->>'kind' = $4 AND detail->>'encoding' = $5 AND detail->>'year' = $6`,
				roster.AuditExport, w.SchoolA.ID, w.AdminA.ID, string(tt.kind), string(tt.enc), itoa(y)); n != 1 {
				t.Errorf("%d audit events for this export, want 1", n)
			}
		})
	}
	t.Cleanup(func() {
		auditDetails(t, w, roster.AuditExport, w.SchoolA.ID, "admin.a", "花子", "一郎", "サッカー", "1組")
	})
}

// TestExportSubstitutes: a name Shift_JIS cannot hold no longer refuses the whole
// export; the character is written as 〓, counted, and the count is audited.
func TestExportSubstitutes(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	w.MustCreateStaff(t, authz.Teacher, w.SchoolA.ID, "emoji.a", "絵文字 😀")
	out, err := s.Export(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindStaff, 0, roster.ShiftJIS)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	text, _, err := roster.Decode(out.Data)
	if err != nil || !strings.Contains(text, "絵文字 〓") || out.Substituted != 1 {
		t.Fatalf("Export = %q (%v), %d substituted; want 絵文字 〓 and 1", text, err, out.Substituted)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = $1 AND detail->>'substituted' = '1'`, roster.AuditExport); n != 1 {
		t.Errorf("%d export audit events with the substitution count, want 1", n)
	}
	out, err = s.Export(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindStaff, 0, roster.UTF8BOM)
	if err != nil || !strings.Contains(string(out.Data), "😀") || out.Substituted != 0 {
		t.Errorf("UTF-8 export: %v, %q", err, out.Data)
	}
}
