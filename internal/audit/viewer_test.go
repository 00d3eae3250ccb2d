package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/csvexport"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/staff/stafftest"
	"github.com/renraku/renraku/web"
)

func TestViewerScopeFiltersAndSelfAudit(t *testing.T) {
	t.Parallel()
	w := stafftest.New(t)
	names := &postgres.AuditNames{Vault: w.Vault}
	v := &audit.Viewer{Tx: postgres.NewTransactor(w.Pool), Log: w.Audit, Staff: names.Staff, Objects: names.Objects}
	ctx := context.Background()
	today := time.Now()

	// School B's admin sees only school B's rows: the world's set-up wrote rows for
	// both schools.
	resB, err := v.Search(w.Ctx(t, w.AdminB), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if resB.Total == 0 {
		t.Fatal("school B's admin sees no rows")
	}
	for _, e := range resB.Entries {
		if e.SchoolID != w.SchoolB.ID {
			t.Fatalf("admin B sees a row of school %d: %+v", e.SchoolID, e)
		}
	}
	// Asking for school A is refused as not found.
	if _, err := v.Search(w.Ctx(t, w.AdminB), audit.Query{SchoolID: w.SchoolA.ID}); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("admin B reading school A: %v", err)
	}
	// Teachers may not read the log at all.
	if _, err := v.Search(w.Ctx(t, w.TeacherA), audit.Query{}); apperr.KindOf(err) != apperr.Forbidden {
		t.Errorf("teacher reading the log: %v", err)
	}

	// The board admin sees both schools; filters narrow by actor, action and day.
	all, err := v.Search(w.Ctx(t, w.BoardAdmin), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total <= resB.Total {
		t.Errorf("board sees %d rows, school B alone %d", all.Total, resB.Total)
	}
	byActor, err := v.Search(w.Ctx(t, w.BoardAdmin), audit.Query{ActorID: w.AdminA.ID, Action: "class.", From: today, To: today})
	if err != nil {
		t.Fatal(err)
	}
	if byActor.Total != 2 { // 1年1組 and 1年2組
		t.Errorf("admin A's class.* rows today: %d, want 2", byActor.Total)
	}
	classes := map[string]bool{}
	for _, e := range byActor.Entries {
		if e.ActorName != "校長 花子" || e.ActorRole != "school_admin" || !strings.HasPrefix(e.Action, "class.") {
			t.Errorf("filtered row: %+v", e)
		}
		classes[e.Object.Name] = true
	}
	if !classes["1年1組"] || !classes["1年2組"] {
		t.Errorf("classes named %v, want 1年1組 and 1年2組", classes)
	}
	none, err := v.Search(w.Ctx(t, w.BoardAdmin), audit.Query{From: today.AddDate(0, 0, 1)})
	if err != nil || none.Total != 0 {
		t.Errorf("rows from tomorrow: %d, %v", none.Total, err)
	}
	if _, err := v.Search(w.Ctx(t, w.BoardAdmin), audit.Query{Action: "x'; DROP TABLE audit_event; --"}); apperr.FieldsOf(err)["action"] == "" {
		t.Errorf("malformed action filter: %v", err)
	}

	// Export writes every matching row with a Japanese header.
	cat, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	out, n, err := v.Export(w.Ctx(t, w.AdminA), audit.Query{Action: "staff."}, csvexport.UTF8, cat.Localizer("ja").T)
	if err != nil || n == 0 {
		t.Fatalf("export: %d, %v", n, err)
	}
	records, err := csv.NewReader(bytes.NewReader(out.Data)).ReadAll()
	if err != nil || len(records) != n+1 || records[0][0] != "日時" {
		t.Fatalf("export CSV: %d records (%v), header %v", len(records), err, records[0])
	}
	for _, h := range records[0] {
		if strings.HasPrefix(h, "audit.") {
			t.Errorf("CSV header %q has no label", h)
		}
	}

	// Each view and export is itself a row, and the chain still verifies.
	var views, exports int
	err = w.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE action = 'audit.view'), count(*) FILTER (WHERE action = 'audit.export') FROM audit_event`).Scan(&views, &exports)
	if err != nil || views != 4 || exports != 1 {
		t.Errorf("audit of the audit: %d views, %d exports (%v)", views, exports, err)
	}
	rep, err := w.Audit.Verify(ctx, w.Pool)
	if err != nil || !rep.OK {
		t.Errorf("chain after viewing: %v %v", rep, err)
	}
}
