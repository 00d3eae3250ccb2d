package roster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/roster"
	"github.com/renraku/renraku/web"
)

// encodeAs returns text as a file in enc would hold it; Shift_JIS is built with x/text's
// encoder, independently of roster.Encode.
func encodeAs(t *testing.T, text string, enc roster.Encoding) []byte {
	t.Helper()
	switch enc {
	case roster.UTF8:
		return []byte(text)
	case roster.UTF8BOM:
		return append([]byte{0xEF, 0xBB, 0xBF}, text...)
	case roster.ShiftJIS:
		b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatalf("building shift_jis: %v", err)
		}
		return b
	}
	t.Fatalf("unknown encoding %q", enc)
	return nil
}

var allEncodings = []roster.Encoding{roster.UTF8, roster.UTF8BOM, roster.ShiftJIS}

// decode runs roster.Decode and checks it detected enc.
func decode(t *testing.T, b []byte, enc roster.Encoding) string {
	t.Helper()
	text, got, err := roster.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got != enc {
		t.Fatalf("Decode detected %q, want %q", got, enc)
	}
	return text
}

// crlf joins lines as Excel does.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// The good files use characters that differ between JIS and CP932 (髙, 﨑, ①, ～) so
// that the Shift_JIS case proves they survive.
const goodStaff = "ログインID,氏名,役割\r\n" +
	"Tanaka.Hanako,髙橋 花子,学校管理者\r\n" +
	"\r\n" +
	"suzuki_01 , 山﨑 一郎 ,教職員\r\n" +
	",,\r\n" +
	"sato-k,佐藤①～,教職員\r\n"

func TestParseStaffGoodFile(t *testing.T) {
	t.Parallel()
	want := []roster.StaffRow{
		{Line: 2, Login: "tanaka.hanako", Name: "髙橋 花子", Role: "school-admin"},
		{Line: 4, Login: "suzuki_01", Name: "山﨑 一郎", Role: "teacher"},
		{Line: 6, Login: "sato-k", Name: "佐藤①～", Role: "teacher"},
	}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			rows, errs := roster.ParseStaff(decode(t, encodeAs(t, goodStaff, enc), enc))
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClassesGoodFile(t *testing.T) {
	t.Parallel()
	text := crlf("年度,学年,組", "2026,1,1組", "令和8,１,２", "R8,6年,Ａ組", "２０２６,2,さくら")
	want := []roster.ClassRow{
		{Line: 2, Year: 2026, Grade: 1, Name: "1組"},
		{Line: 3, Year: 2026, Grade: 1, Name: "2組"},
		{Line: 4, Year: 2026, Grade: 6, Name: "A組"},
		{Line: 5, Year: 2026, Grade: 2, Name: "さくら"},
	}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			rows, errs := roster.ParseClasses(decode(t, encodeAs(t, text, enc), enc))
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClubsGoodFile(t *testing.T) {
	t.Parallel()
	text := crlf("年度,部活動名", "2026,サッカー部", "令和９年度,吹奏楽部", "2026,\"茶道部, 華道部\"")
	want := []roster.ClubRow{
		{Line: 2, Year: 2026, Name: "サッカー部"},
		{Line: 3, Year: 2027, Name: "吹奏楽部"},
		{Line: 4, Year: 2026, Name: "茶道部, 華道部"},
	}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			rows, errs := roster.ParseClubs(decode(t, encodeAs(t, text, enc), enc))
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAssignmentsGoodFile(t *testing.T) {
	t.Parallel()
	text := crlf("年度,ログインID,職務,対象",
		"2026,tanaka,担任,1年1組",
		"2026,suzuki,副担任,１年Ａ組",
		"令和8,sato,顧問,サッカー部",
		"R8,TAKAHASHI,学校宛て連絡,",
		"2026,tanaka,担任,6年2",
	)
	want := []roster.AssignmentRow{
		{Line: 2, Year: 2026, Login: "tanaka", Duty: "homeroom", Grade: 1, Class: "1組"},
		{Line: 3, Year: 2026, Login: "suzuki", Duty: "sub-homeroom", Grade: 1, Class: "A組"},
		{Line: 4, Year: 2026, Login: "sato", Duty: "advisor", Club: "サッカー部"},
		{Line: 5, Year: 2026, Login: "takahashi", Duty: "office"},
		{Line: 6, Year: 2026, Login: "tanaka", Duty: "homeroom", Grade: 6, Class: "2組"},
	}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			rows, errs := roster.ParseAssignments(decode(t, encodeAs(t, text, enc), enc))
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			if diff := cmp.Diff(want, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// parsed adapts each Parse function to a common shape for table tests.
type parsed struct {
	rows int
	errs []roster.RowError
}

func parseKind(kind roster.Kind, text string) parsed {
	switch kind {
	case roster.KindStaff:
		r, e := roster.ParseStaff(text)
		return parsed{len(r), e}
	case roster.KindClasses:
		r, e := roster.ParseClasses(text)
		return parsed{len(r), e}
	case roster.KindClubs:
		r, e := roster.ParseClubs(text)
		return parsed{len(r), e}
	case roster.KindAssignments:
		r, e := roster.ParseAssignments(text)
		return parsed{len(r), e}
	}
	panic("unknown kind " + kind)
}

type (
	e    = roster.RowError
	args = map[string]any
)

// badFiles are files with problems and every error each should produce.
var badFiles = []struct {
	name     string
	kind     roster.Kind
	text     string
	wantRows int
	want     []roster.RowError
}{
	{
		name: "staff bad rows",
		kind: roster.KindStaff,
		text: crlf("ログインID,氏名,役割",
			"ok1,良い 人,教職員",
			"ab,短い,教職員",
			"tanaka hanako,,校長",
			"",
			"ok2,"+strings.Repeat("長", 51)+",teacher",
			"ok3,余分,教職員,x",
			"ok4,\"改\n行\",教職員",
			"OK1,重複,School-Admin",
		),
		wantRows: 1,
		want: []e{
			{Line: 3, Column: "ログインID", MessageID: "roster.login.invalid", Args: args{"Min": 3, "Max": 64}},
			{Line: 4, Column: "ログインID", MessageID: "roster.login.invalid", Args: args{"Min": 3, "Max": 64}},
			{Line: 4, Column: "氏名", MessageID: "roster.cell.required", Args: args{"Column": "氏名"}},
			{Line: 4, Column: "役割", MessageID: "roster.role.invalid"},
			{Line: 6, Column: "氏名", MessageID: "roster.text.too_long", Args: args{"Column": "氏名", "Max": 50}},
			{Line: 7, MessageID: "roster.row.cells", Args: args{"Want": 3, "Got": 4}},
			{Line: 8, Column: "氏名", MessageID: "roster.text.control", Args: args{"Column": "氏名"}},
			{Line: 10, Column: "ログインID", MessageID: "roster.staff.duplicate", Args: args{"Login": "ok1", "FirstLine": 2}},
		},
	},
	{
		name: "classes bad rows",
		kind: roster.KindClasses,
		text: crlf("年度,学年,組",
			"2026,1,1組",
			"2026,7,1組",
			"平成30,0,",
			"R8,1,１",
			"2026,2,とても長い学級の名前です",
			"abc,1,1組",
		),
		wantRows: 1,
		want: []e{
			{Line: 3, Column: "学年", MessageID: "roster.grade.invalid"},
			{Line: 4, Column: "年度", MessageID: "roster.year.invalid"},
			{Line: 4, Column: "学年", MessageID: "roster.grade.invalid"},
			{Line: 4, Column: "組", MessageID: "roster.cell.required", Args: args{"Column": "組"}},
			{Line: 5, MessageID: "roster.class.duplicate", Args: args{"Year": 2026, "Grade": 1, "Class": "1組", "FirstLine": 2}},
			{Line: 6, Column: "組", MessageID: "roster.text.too_long", Args: args{"Column": "組", "Max": 10}},
			{Line: 7, Column: "年度", MessageID: "roster.year.invalid"},
		},
	},
	{
		name: "clubs bad rows",
		kind: roster.KindClubs,
		text: crlf("部活動名,年度",
			"野球部,2026",
			"野球部,2027",
			"野球部,令和8",
			",2026",
			"剣道部,",
		),
		wantRows: 2,
		want: []e{
			{Line: 4, Column: "部活動名", MessageID: "roster.club.duplicate", Args: args{"Year": 2026, "Club": "野球部", "FirstLine": 2}},
			{Line: 5, Column: "部活動名", MessageID: "roster.cell.required", Args: args{"Column": "部活動名"}},
			{Line: 6, Column: "年度", MessageID: "roster.cell.required", Args: args{"Column": "年度"}},
		},
	},
	{
		name: "assignments bad rows",
		kind: roster.KindAssignments,
		text: crlf("年度,ログインID,職務,対象",
			"2026,tanaka,担任,1年1組",
			"2026,tanaka,校長,1年1組",
			"2026,tanaka,担任,1組",
			"2026,tanaka,副担任,7年1組",
			"2026,tanaka,顧問,",
			"2026,tanaka,学校宛て連絡,職員室",
			"2026,x,担任,1年1組",
			"令和8,TANAKA,homeroom,１年１組",
		),
		wantRows: 1,
		want: []e{
			{Line: 3, Column: "職務", MessageID: "roster.duty.invalid"},
			{Line: 4, Column: "対象", MessageID: "roster.target.class"},
			{Line: 5, Column: "対象", MessageID: "roster.target.class"},
			{Line: 6, Column: "対象", MessageID: "roster.target.club"},
			{Line: 7, Column: "対象", MessageID: "roster.target.office"},
			{Line: 8, Column: "ログインID", MessageID: "roster.login.invalid", Args: args{"Min": 3, "Max": 64}},
			{Line: 9, MessageID: "roster.assignment.duplicate", Args: args{"FirstLine": 2}},
		},
	},
	{
		name:     "header missing and unknown columns",
		kind:     roster.KindStaff,
		text:     crlf("ログインID,名前,役割,備考", "tanaka,田中,教職員,x"),
		wantRows: 0,
		want: []e{
			{Line: 1, MessageID: "roster.header.unknown", Args: args{"Column": "名前"}},
			{Line: 1, MessageID: "roster.header.unknown", Args: args{"Column": "備考"}},
			{Line: 1, Column: "氏名", MessageID: "roster.header.missing", Args: args{"Column": "氏名"}},
		},
	},
	{
		name:     "header column twice",
		kind:     roster.KindClubs,
		text:     crlf("年度,部活動名,club", "2026,野球部,野球部"),
		wantRows: 0,
		want:     []e{{Line: 1, Column: "部活動名", MessageID: "roster.header.duplicate", Args: args{"Column": "部活動名"}}},
	},
	{
		name:     "no header at all",
		kind:     roster.KindClasses,
		text:     crlf("2026,1,1組", "2026,1,2組"),
		wantRows: 0,
		want:     []e{{Line: 1, MessageID: "roster.header.none", Args: args{"Columns": "年度、学年、組、在籍者数（任意）"}}},
	},
	{
		name:     "empty file",
		kind:     roster.KindClubs,
		text:     "\r\n,\r\n",
		wantRows: 0,
		want:     []e{{MessageID: "roster.file.empty"}},
	},
	{
		name:     "bare quote",
		kind:     roster.KindClubs,
		text:     crlf("年度,部活動名", `2026,"野球"部`, "2026,サッカー部"),
		wantRows: 1,
		want:     []e{{Line: 2, MessageID: "roster.csv.quote"}},
	},
	{
		name:     "too many lines",
		kind:     roster.KindClubs,
		text:     "年度,部活動名\r\n" + strings.Repeat("2026,部\r\n", roster.MaxDataLines+1),
		wantRows: 0,
		want:     []e{{MessageID: "roster.file.too_many", Args: args{"Max": roster.MaxDataLines}}},
	},
}

func TestParseReportsEveryError(t *testing.T) {
	t.Parallel()
	for _, tt := range badFiles {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseKind(tt.kind, tt.text)
			if diff := cmp.Diff(tt.want, got.errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if got.rows != tt.wantRows {
				t.Errorf("rows = %d, want %d", got.rows, tt.wantRows)
			}
		})
	}
}

func TestParseEnglishHeaderAnyOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind roster.Kind
		text string
	}{
		{"staff", roster.KindStaff, crlf("Role,LOGIN,name", "teacher,tanaka,田中")},
		{"classes", roster.KindClasses, crlf("class,grade,year", "1組,1,2026")},
		{"clubs", roster.KindClubs, crlf("ｃｌｕｂ,Year", "野球部,2026")},
		{"assignments", roster.KindAssignments, crlf("target,duty,login,year", "野球部,advisor,tanaka,2026")},
		{"mixed languages", roster.KindStaff, crlf("login,氏名,役割", "tanaka,田中,教職員")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := parseKind(tt.kind, tt.text)
			if len(got.errs) > 0 || got.rows != 1 {
				t.Fatalf("rows = %d, errors = %+v", got.rows, got.errs)
			}
		})
	}
}

func TestParseYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want int // 0: invalid
	}{
		{"western", "2026", 2026},
		{"full-width digits", "２０２６", 2026},
		{"with 年度", "2026年度", 2026},
		{"reiwa", "令和8", 2026},
		{"reiwa full-width", "令和８年度", 2026},
		{"reiwa first year", "令和元年", 2019},
		{"R", "R8", 2026},
		{"lower r", "r10", 2028},
		{"full-width R", "Ｒ８", 2026},
		{"reiwa zero", "令和0", 0},
		{"heisei", "平成30", 0},
		{"two digits", "26", 0},
		{"words", "今年", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows, errs := roster.ParseClubs(crlf("年度,部活動名", tt.in+",野球部"))
			got := 0
			if len(rows) == 1 {
				got = rows[0].Year
			}
			if got != tt.want {
				t.Errorf("year %q = %d (errors %+v), want %d", tt.in, got, errs, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	staff := []roster.StaffRow{
		{Line: 2, Login: "tanaka", Name: "髙橋 﨑子", Role: "school-admin"},
		{Line: 3, Login: "-dash", Name: "=1+1", Role: "teacher"},
		{Line: 4, Login: "sato", Name: "佐藤 ①～\"引用\"", Role: "teacher"},
	}
	thirty := 30
	classes := []roster.ClassRow{{Line: 2, Year: 2026, Grade: 1, Name: "1組", HasEnrolment: true, Enrolment: &thirty},
		{Line: 3, Year: 2027, Grade: 6, Name: "さくら", HasEnrolment: true}}
	clubs := []roster.ClubRow{{Line: 2, Year: 2026, Name: "茶道部, 華道部"}, {Line: 3, Year: 2026, Name: "@部"}}
	assignments := []roster.AssignmentRow{
		{Line: 2, Year: 2026, Login: "tanaka", Duty: "homeroom", Grade: 1, Class: "1組"},
		{Line: 3, Year: 2026, Login: "tanaka", Duty: "sub-homeroom", Grade: 2, Class: "年組"},
		{Line: 4, Year: 2026, Login: "sato", Duty: "advisor", Club: "サッカー部"},
		{Line: 5, Year: 2026, Login: "sato", Duty: "office"},
	}
	for _, enc := range allEncodings {
		t.Run(string(enc), func(t *testing.T) {
			t.Parallel()
			through := func(text string) string {
				t.Helper()
				if !strings.HasSuffix(text, "\r\n") || strings.Count(text, "\n") != strings.Count(text, "\r\n") {
					t.Errorf("not CRLF: %q", text)
				}
				f, err := csvexport.Encode(text, enc)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				return decode(t, f.Data, enc)
			}
			check := func(name string, diff string, errs []roster.RowError) {
				t.Helper()
				if len(errs) > 0 {
					t.Errorf("%s errors: %+v", name, errs)
				}
				if diff != "" {
					t.Errorf("%s (-want +got):\n%s", name, diff)
				}
			}
			s, es := roster.ParseStaff(through(roster.WriteStaff(staff)))
			check("staff", cmp.Diff(staff, s), es)
			c, es := roster.ParseClasses(through(roster.WriteClasses(classes)))
			check("classes", cmp.Diff(classes, c), es)
			k, es := roster.ParseClubs(through(roster.WriteClubs(clubs)))
			check("clubs", cmp.Diff(clubs, k), es)
			a, es := roster.ParseAssignments(through(roster.WriteAssignments(assignments)))
			check("assignments", cmp.Diff(assignments, a), es)
		})
	}
}

func TestWriteShapes(t *testing.T) {
	t.Parallel()
	got := roster.WriteAssignments([]roster.AssignmentRow{
		{Year: 2026, Login: "tanaka", Duty: "homeroom", Grade: 1, Class: "1組"},
		{Year: 2026, Login: "sato", Duty: "office"},
	})
	want := "年度,ログインID,職務,対象\r\n2026,tanaka,担任,1年1組\r\n2026,sato,学校宛て連絡,\r\n"
	if got != want {
		t.Errorf("WriteAssignments = %q, want %q", got, want)
	}
	got = roster.WriteStaff([]roster.StaffRow{{Login: "a.b", Name: "=HYPERLINK()", Role: "school-admin"}})
	want = "ログインID,氏名,役割\r\na.b,'=HYPERLINK(),学校管理者\r\n"
	if got != want {
		t.Errorf("WriteStaff = %q, want %q", got, want)
	}
}

func TestDecodeRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want roster.RowError
	}{
		{"unassigned shift_jis", []byte("a\r\n\x82\xa0\r\n\x85\x40\r\n"), roster.RowError{Line: 3, MessageID: "roster.decode.invalid"}},
		{"broken utf-8 after bom", []byte("\xEF\xBB\xBFa\n\xE3\x81"), roster.RowError{Line: 2, MessageID: "roster.decode.invalid"}},
		{"utf-16", []byte{0xFF, 0xFE, 'a', 0}, roster.RowError{MessageID: "roster.decode.utf16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := roster.Decode(tt.in)
			var re *roster.RowError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RowError", err)
			}
			if diff := cmp.Diff(tt.want, *re); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeWindowsShiftJIS(t *testing.T) {
	t.Parallel()
	// "年度,部活動名\r\n2026,髙﨑①～部\r\n" as Excel on Windows saves it: IBM codes for 髙
	// and 﨑, NEC's for ①, and 81 60 for ～.
	header, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte("年度,部活動名\r\n2026,"))
	if err != nil {
		t.Fatal(err)
	}
	b := append(header, 0xFB, 0xFC, 0xFA, 0xB1, 0x87, 0x40, 0x81, 0x60, 0x95, 0x94, '\r', '\n')
	rows, errs := roster.ParseClubs(decode(t, b, roster.ShiftJIS))
	want := []roster.ClubRow{{Line: 2, Year: 2026, Name: "髙﨑①～部"}}
	if diff := cmp.Diff(want, rows); diff != "" || len(errs) > 0 {
		t.Errorf("errors %+v, rows (-want +got):\n%s", errs, diff)
	}
}

// TestMessagesExist checks that every message ID the package can hand out is in both
// catalogue files, so the console never shows a raw ID.
func TestMessagesExist(t *testing.T) {
	t.Parallel()
	ids := map[string]bool{}
	for _, k := range roster.Kinds {
		ids[k.MessageID()] = true
	}
	for _, e := range roster.Encodings {
		ids[roster.EncodingMessageID(e)] = true
	}
	if len(roster.Encodings) != 3 || len(roster.Kinds) != 4 {
		t.Errorf("Encodings = %v, Kinds = %v", roster.Encodings, roster.Kinds)
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`"(roster\.[a-z0-9_.-]*[a-z0-9_-])"`)
	for _, f := range sources {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			ids[string(m[1])] = true
		}
	}
	// The audit log's action codes look like message IDs but are never shown translated.
	delete(ids, roster.AuditImport)
	delete(ids, roster.AuditPreview)
	delete(ids, roster.AuditExport)
	if len(ids) < 30 {
		t.Fatalf("found only %d IDs: the scan is broken", len(ids))
	}
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("..", "..", "web", "i18n", fmt.Sprintf("roster.%s.json", lang)))
			if err != nil {
				t.Fatal(err)
			}
			var cat map[string]string
			if err := json.Unmarshal(b, &cat); err != nil {
				t.Fatal(err)
			}
			for id := range ids {
				if cat[id] == "" {
					t.Errorf("%s lacks %q", lang, id)
				}
			}
			for id := range cat {
				if !ids[id] {
					t.Errorf("%s has %q, which the package never uses", lang, id)
				}
			}
		})
	}
}

// TestMessagesRender fills each error's message with its Args in every language and
// checks that no template field is left without a value.
func TestMessagesRender(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	var all []roster.RowError
	for _, f := range badFiles {
		all = append(all, f.want...)
	}
	all = append(all,
		e{MessageID: "roster.decode.invalid"},
		e{MessageID: "roster.decode.utf16"},
	)
	for _, lang := range []string{"ja", "en"} {
		l := cat.Localizer(lang)
		for _, re := range all {
			got := l.T(re.MessageID, re.Args)
			if got == re.MessageID || strings.Contains(got, "<no value>") || strings.Contains(got, "{{") {
				t.Errorf("%s %s = %q", lang, re.MessageID, got)
			}
		}
	}
	if got := cat.Localizer("ja").T("roster.header.missing", args{"Column": "氏名"}); got != "見出し「氏名」がありません" {
		t.Errorf("ja roster.header.missing = %q", got)
	}
}
