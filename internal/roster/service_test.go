package roster_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/credential"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/staff"
	"github.com/renraku/renraku/internal/staff/stafftest"
)

func TestMain(m *testing.M) {
	credential.Params.Memory, credential.Params.Iterations, credential.Params.Parallelism = 64, 1, 1
	os.Exit(m.Run())
}

func newService(w *stafftest.World) *roster.Service {
	return &roster.Service{Pool: w.Pool, Schools: postgres.SchoolStore{}, Staff: &postgres.StaffStore{Vault: w.Vault}, StaffService: w.Staff, Audit: w.Audit}
}

func encode(t *testing.T, text string, enc roster.Encoding) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := roster.Encode(&b, text, enc); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func count(t *testing.T, w *stafftest.World, q string) int {
	t.Helper()
	var n int
	if err := w.Pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportClassesInEveryEncoding(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	year := w.SchoolA.CurrentYear
	for i, enc := range []roster.Encoding{roster.UTF8, roster.UTF8BOM, roster.ShiftJIS} {
		text := "年度,学年,組\r\n" + itoa(year) + ",2," + string(rune('A'+i)) + "組\r\n" + itoa(year) + ",3,１\r\n"
		if i > 0 {
			text = "年度,学年,組\r\n" + itoa(year) + ",2," + string(rune('A'+i)) + "組\r\n"
		}
		res, err := s.Import(ctx, w.SchoolA.ID, roster.KindClasses, encode(t, text, enc))
		if err != nil || len(res.Errors) > 0 || res.Encoding != enc {
			t.Fatalf("%s: %+v, %v", enc, res, err)
		}
	}
	st, err := w.Schools.Structure(ctx, w.SchoolA.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, c := range st.Classes {
		labels = append(labels, c.Label())
	}
	if diff := cmp.Diff([]string{"1年1組", "1年2組", "2年A組", "2年B組", "2年C組", "3年1組"}, labels); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'csv.import'`); n != 3 {
		t.Errorf("%d csv.import audit rows, want 3", n)
	}
}

func TestImportWithErrorsImportsNothing(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	y := itoa(w.SchoolA.CurrentYear)
	text := strings.Join([]string{
		"年度,学年,組",
		y + ",4,1組", // good
		y + ",1,1組", // exists already
		y + ",7,1組", // 小学校 has 6 grades: the parser refuses 7
		"2099,5,1組", // year out of range
		y + ",5,2組", // good
	}, "\r\n")
	before := count(t, w, `SELECT count(*) FROM class`)
	res, err := s.Import(ctx, w.SchoolA.ID, roster.KindClasses, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, e := range res.Errors {
		lines = append(lines, e.Line)
	}
	if diff := cmp.Diff([]int{3, 4, 5}, sortInts(lines)); diff != "" {
		t.Errorf("error lines (-want +got):\n%s (%+v)", diff, res.Errors)
	}
	if res.Rows != 0 || count(t, w, `SELECT count(*) FROM class`) != before {
		t.Errorf("rows were imported despite errors: %d", res.Rows)
	}
}

func TestImportStaffAndAssignments(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	y := itoa(w.SchoolA.CurrentYear)

	res, err := s.Import(ctx, w.SchoolA.ID, roster.KindStaff, encode(t, "ログインID,氏名,役割\r\nyamada.t,山田 太郎,教職員\r\nkawa.h,川 花子,学校管理者\r\n", roster.ShiftJIS))
	if err != nil || len(res.Errors) > 0 || len(res.Invites) != 2 {
		t.Fatalf("staff import: %+v, %v", res, err)
	}
	// Each new account's one-time link works.
	if _, err := w.Staff.SetPasswordFromLink(context.Background(), res.Invites[0].Token, "haru-no-ogawa-22", "haru-no-ogawa-22", staff.Client{}); err != nil {
		t.Fatalf("invite link: %v", err)
	}
	// Again: every login is taken now, so nothing happens.
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindStaff, []byte("ログインID,氏名,役割\r\nyamada.t,山田 太郎,教職員\r\n"))
	if err != nil || len(res.Errors) != 1 || res.Errors[0].MessageID != "roster.db.login_taken" {
		t.Fatalf("repeat import: %+v, %v", res, err)
	}

	text := "年度,ログインID,職務,対象\r\n" +
		y + ",yamada.t,担任,1年2組\r\n" +
		y + ",yamada.t,顧問,サッカー部\r\n" +
		y + ",teacher.b,担任,1年1組\r\n" + // a teacher of school B
		y + ",kawa.h,担任,1年9組\r\n" // no such class
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindAssignments, []byte(text))
	if err != nil || len(res.Errors) != 2 || res.Rows != 0 {
		t.Fatalf("assignments with errors: %+v, %v", res, err)
	}
	text = "年度,ログインID,職務,対象\r\n" + y + ",yamada.t,担任,1年2組\r\n" + y + ",yamada.t,顧問,サッカー部\r\n" + y + ",kawa.h,学校宛て連絡,\r\n"
	res, err = s.Import(ctx, w.SchoolA.ID, roster.KindAssignments, []byte(text))
	if err != nil || len(res.Errors) > 0 || res.Rows != 3 {
		t.Fatalf("assignments: %+v, %v", res, err)
	}

	// Export gives back what was imported.
	var out bytes.Buffer
	if err := s.Export(ctx, w.SchoolA.ID, roster.KindAssignments, 0, roster.UTF8BOM, &out); err != nil {
		t.Fatal(err)
	}
	decoded, enc, err := roster.Decode(out.Bytes())
	if err != nil || enc != roster.UTF8BOM {
		t.Fatalf("decode export: %v %s", err, enc)
	}
	rows, errs := roster.ParseAssignments(decoded)
	if len(errs) > 0 {
		t.Fatalf("export does not parse: %+v", errs)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Login+" "+r.Duty+" "+r.Class+r.Club)
	}
	want := []string{"homeroom.a11 homeroom 1組", "advisor.a advisor サッカー部", "yamada.t homeroom 2組", "yamada.t advisor サッカー部", "kawa.h office "}
	if diff := cmp.Diff(sortStrings(want), sortStrings(got)); diff != "" {
		t.Errorf("exported assignments (-want +got):\n%s", diff)
	}
	if n := count(t, w, `SELECT count(*) FROM audit_event WHERE action = 'csv.export'`); n != 1 {
		t.Errorf("%d csv.export audit rows", n)
	}
}

func TestImportAuthorisation(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	file := []byte("年度,部活動名\r\n" + itoa(w.SchoolA.CurrentYear) + ",将棋部\r\n")
	tests := []struct {
		name string
		as   staff.Staff
		want apperr.Kind
	}{
		{"school admin of another school", w.AdminB, apperr.NotFound},
		{"teacher of another school", w.TeacherB, apperr.NotFound},
		{"teacher of the school", w.TeacherA, apperr.Forbidden},
	}
	for _, tt := range tests {
		if _, err := s.Import(w.Ctx(t, tt.as), w.SchoolA.ID, roster.KindClubs, file); apperr.KindOf(err) != tt.want {
			t.Errorf("%s: import: %v, want %v", tt.name, err, tt.want)
		}
		if err := s.Export(w.Ctx(t, tt.as), w.SchoolA.ID, roster.KindStaff, 0, roster.UTF8, &bytes.Buffer{}); apperr.KindOf(err) != tt.want {
			t.Errorf("%s: export: %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := count(t, w, `SELECT count(*) FROM club WHERE name = '将棋部'`); n != 0 {
		t.Errorf("refused imports stored %d clubs", n)
	}
}
