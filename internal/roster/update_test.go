package roster_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/authz"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/internal/school"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/web"
)

// account is what an import may change of an account, and what it must not.
type account struct {
	Name, Role    string
	PasswordHash  string
	TOTP          bool
	Epoch         int
	SigninTokens  int
	DisabledState bool
}

// accounts reads every account by login ID, names decrypted.
func accounts(t *testing.T, w *stafftest.World) map[string]account {
	t.Helper()
	out := map[string]account{}
	for _, sc := range []int64{0, w.SchoolA.ID, w.SchoolB.ID} {
		list, err := w.Staff.List(w.Ctx(t, w.BoardAdmin), w.Board.ID, sc)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range list {
			var a account
			if err := w.Pool.QueryRow(context.Background(), `SELECT COALESCE(password_hash, ''), totp_secret_enc IS NOT NULL, session_epoch,
				(SELECT count(*) FROM staff_signin_token WHERE staff_id = staff.id), disabled_at IS NOT NULL FROM staff WHERE id = $1`, st.ID).
				Scan(&a.PasswordHash, &a.TOTP, &a.Epoch, &a.SigninTokens, &a.DisabledState); err != nil {
				t.Fatal(err)
			}
			a.Name, a.Role = st.Name.Reveal(), string(st.Role)
			out[st.Login.Reveal()] = a
		}
	}
	return out
}

// TestImportStaffUpdatesAccounts imports a staff file whose login IDs are partly the
// school's accounts: a preview first says, line by line, what would happen and changes
// nothing; the import then changes names and roles (never a password, second factor or
// session), creates the new account, and records each change without the names. A
// file with a login ID of another school or of the board is refused whole, with the
// line named in Japanese.
func TestImportStaffUpdatesAccounts(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	ctx := w.Ctx(t, w.AdminA)
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}

	// Refused: teacher.b is school B's, board.admin the board's. Nothing changes, not
	// even the line of this school's own account.
	start := accounts(t, w)
	refused := crlf("ログインID,氏名,役割", "teacher.a,教員 四郎丸,教職員", "Teacher.B,教員 五郎,教職員", "board.admin,教委 太郎,学校管理者")
	for _, run := range []func(context.Context, int64, roster.Kind, []byte) (roster.ImportResult, error){s.Preview, s.Import} {
		res, err := run(ctx, w.SchoolA.ID, roster.KindStaff, []byte(refused))
		if err != nil {
			t.Fatal(err)
		}
		want := []rowErr{{3, "ログインID", "roster.db.login_elsewhere"}, {4, "ログインID", "roster.db.login_elsewhere"}}
		if diff := cmp.Diff(want, rowErrs(res.Errors)); diff != "" || res.Rows != 0 || len(res.Lines) != 0 || len(res.Invites) != 0 {
			t.Errorf("refused file: %+v; errors (-want +got):\n%s", res, diff)
		}
	}
	if got := cat.Localizer("ja").T("roster.db.login_elsewhere"); got != "このログインIDは、ほかの学校または教育委員会のアカウントで使われています。この学校の取り込みでは変更できないので、別のログインIDにしてください。" {
		t.Errorf("ja login_elsewhere = %q", got)
	}
	if diff := cmp.Diff(start, accounts(t, w)); diff != "" {
		t.Fatalf("a refused file changed accounts (-before +after):\n%s", diff)
	}

	file := []byte(crlf("ログインID,氏名,役割",
		"teacher.a,教員 四郎,学校管理者",  // role
		"advisor.a,顧問 三郎,教職員",    // as stored
		"HOMEROOM.A11,担任 一子,教職員", // name
		"disabled.a,休職 六郎,教職員",   // as stored, though disabled
		"new.one,新任 一郎,教職員"))
	wantLines := []roster.LineResult{
		{Line: 2, Cells: []string{"teacher.a", "教員 四郎", "学校管理者"}, Outcome: roster.OutcomeUpdate, Changes: []roster.Change{{Column: "役割", From: "教職員", To: "学校管理者"}}},
		{Line: 3, Cells: []string{"advisor.a", "顧問 三郎", "教職員"}, Outcome: roster.OutcomeSame},
		{Line: 4, Cells: []string{"homeroom.a11", "担任 一子", "教職員"}, Outcome: roster.OutcomeUpdate, Changes: []roster.Change{{Column: "氏名", From: "担任 一郎", To: "担任 一子"}}},
		{Line: 5, Cells: []string{"disabled.a", "休職 六郎", "教職員"}, Outcome: roster.OutcomeSame},
		{Line: 6, Cells: []string{"new.one", "新任 一郎", "教職員"}, Outcome: roster.OutcomeNew},
	}

	pre, err := s.Preview(ctx, w.SchoolA.ID, roster.KindStaff, file)
	if err != nil || len(pre.Errors) > 0 || len(pre.Invites) > 0 {
		t.Fatalf("preview: %+v, %v", pre, err)
	}
	if diff := cmp.Diff(wantLines, pre.Lines); diff != "" {
		t.Errorf("preview lines (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ログインID", "氏名", "役割"}, pre.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(start, accounts(t, w)); diff != "" {
		t.Fatalf("a preview changed accounts (-before +after):\n%s", diff)
	}
	preview := auditDetails(t, w, roster.AuditPreview, w.SchoolA.ID, "担任", "教員", "新任", "teacher", "new.one")
	wantDetail := map[string]any{"kind": "staff", "count": 5.0, "encoding": "utf-8", "new": 1.0, "update": 2.0, "same": 2.0}
	if diff := cmp.Diff([]map[string]any{wantDetail}, preview); diff != "" {
		t.Errorf("preview audit (-want +got):\n%s", diff)
	}

	res, err := s.Import(ctx, w.SchoolA.ID, roster.KindStaff, file)
	if err != nil || len(res.Errors) > 0 || res.Rows != 5 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if diff := cmp.Diff(wantLines, res.Lines); diff != "" {
		t.Errorf("import lines (-want +got):\n%s", diff)
	}
	if len(res.Invites) != 1 || res.Invites[0].Staff.Login.Reveal() != "new.one" {
		t.Errorf("invites: %+v, want only new.one's", res.Invites)
	}
	after := accounts(t, w)
	want := start
	teacher, homeroom := want["teacher.a"], want["homeroom.a11"]
	teacher.Role, homeroom.Name = string(authz.SchoolAdmin), "担任 一子"
	want["teacher.a"], want["homeroom.a11"] = teacher, homeroom
	newOne := after["new.one"]
	want["new.one"] = account{Name: "新任 一郎", Role: string(authz.Teacher), SigninTokens: 1}
	if diff := cmp.Diff(want, after); diff != "" || newOne.PasswordHash != "" {
		t.Errorf("accounts after import (-want +got):\n%s", diff)
	}
	details := auditDetails(t, w, "staff.update", w.SchoolA.ID, "担任", "一子", "教員", "teacher.a", "homeroom")
	wantUpdates := []map[string]any{
		{"name": false, "role_from": "teacher", "role": "school_admin"},
		{"name": true},
	}
	if diff := cmp.Diff(wantUpdates, details); diff != "" {
		t.Errorf("staff.update audit (-want +got):\n%s", diff)
	}
	imported := auditDetails(t, w, roster.AuditImport, w.SchoolA.ID)
	if diff := cmp.Diff([]map[string]any{wantDetail}, imported); diff != "" {
		t.Errorf("import audit (-want +got):\n%s", diff)
	}

	// The same file again: every line is as stored, and nothing changes.
	again, err := s.Import(ctx, w.SchoolA.ID, roster.KindStaff, file)
	if err != nil || len(again.Errors) > 0 || len(again.Invites) > 0 {
		t.Fatalf("again: %+v, %v", again, err)
	}
	for _, l := range again.Lines {
		if l.Outcome != roster.OutcomeSame {
			t.Errorf("line %d again: %s %v", l.Line, l.Outcome, l.Changes)
		}
	}
	if diff := cmp.Diff(after, accounts(t, w)); diff != "" {
		t.Errorf("the same file again changed accounts (-before +after):\n%s", diff)
	}
}

// TestImportStaffOwnRole refuses a file that would change the importing
// administrator's own role: they would lose the console in the middle of the import.
func TestImportStaffOwnRole(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	s := newService(w)
	res, err := s.Import(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindStaff, []byte(crlf("ログインID,氏名,役割", "admin.a,校長 花子,教職員")))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]rowErr{{2, "役割", "roster.db.own_role"}}, rowErrs(res.Errors)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	// Their name alone may change, as on the account page.
	res, err = s.Import(w.Ctx(t, w.AdminA), w.SchoolA.ID, roster.KindStaff, []byte(crlf("ログインID,氏名,役割", "admin.a,校長 華子,学校管理者")))
	if err != nil || len(res.Errors) > 0 || len(res.Lines) != 1 || res.Lines[0].Outcome != roster.OutcomeUpdate {
		t.Errorf("own name: %+v, %v", res, err)
	}
}

// TestTemplatesImportAsTheyAre downloads the template of every kind in every encoding
// and imports them, in the console's order, into a new school: each previews as one
// new line and imports without an error, so a template is a file the import reads.
func TestTemplatesImportAsTheyAre(t *testing.T) {
	t.Parallel()
	for _, enc := range roster.Encodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			w := stafftest.New(t) // login IDs are unique everywhere: a world each
			s := newService(w)
			sc, _, err := w.Schools.EnsureSchool(context.Background(), audit.OperatorActor, w.Board.Name,
				school.School{Name: "みどり小学校", Type: school.Elementary})
			if err != nil {
				t.Fatal(err)
			}
			ctx := w.Ctx(t, w.BoardAdmin)
			for _, kind := range roster.Kinds {
				f, err := s.Template(ctx, sc.ID, kind, enc)
				if err != nil || f.Encoding != enc || f.Substituted != 0 {
					t.Fatalf("%s template: %+v, %v", kind, f, err)
				}
				if _, got, err := roster.Decode(f.Data); err != nil || got != enc {
					t.Errorf("%s template reads as %s, %v; want %s", kind, got, err, enc)
				}
				pre, err := s.Preview(ctx, sc.ID, kind, f.Data)
				if err != nil || len(pre.Errors) > 0 || len(pre.Lines) != 1 || pre.Lines[0].Outcome != roster.OutcomeNew {
					t.Fatalf("%s template preview: %+v, %v", kind, pre, err)
				}
				res, err := s.Import(ctx, sc.ID, kind, f.Data)
				if err != nil || len(res.Errors) > 0 || res.Rows != 1 {
					t.Fatalf("%s template import: %+v, %v", kind, res, err)
				}
			}
			text, _, err := roster.Decode(must(s.Template(ctx, sc.ID, roster.KindStaff, enc)).Data)
			if err != nil {
				t.Fatalf("decoding the staff template: %v", err)
			}
			if want := "ログインID,氏名,役割\r\nyamada.taro,山田 太郎,教職員\r\n"; text != want {
				t.Errorf("staff template = %q, want %q", text, want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
