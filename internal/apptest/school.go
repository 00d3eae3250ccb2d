package apptest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/renraku/renraku/internal/absence"
)

// FamilyChildren returns the guardian and child of each family, by child.
func FamilyChildren(t *testing.T, w *LineWorld) (guardians, children []int64) {
	t.Helper()
	rows, err := w.App.Services().Pool.Query(context.Background(), `SELECT guardian_id, child_id FROM guardianship ORDER BY child_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var g, c int64
		if err := rows.Scan(&g, &c); err != nil {
			t.Fatal(err)
		}
		guardians, children = append(guardians, g), append(children, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return guardians, children
}

// AddAbsence stores a report for a child, dated day.
func AddAbsence(t *testing.T, w *LineWorld, guardian, child, schoolID, classID int64, day time.Time) {
	t.Helper()
	s := w.App.Services()
	ctx := context.Background()
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		rep := &absence.Report{ChildID: child, GuardianID: guardian, SchoolID: schoolID, ClassID: classID, Kind: "absent",
			From: day, To: day, Detail: absence.Detail{Reason: "illness"}, Status: absence.Sent}
		_, err := s.Absence.Store.SaveReport(ctx, rep, []byte{byte(child), byte(guardian), 7})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Count runs a query that answers one number (a count) and returns it; a query of
// audit_event first waits for the pending audit events to be sealed (AuditSealed).
func Count(t *testing.T, w *LineWorld, query string, args ...any) int {
	t.Helper()
	if strings.Contains(query, "audit_event") {
		AuditSealed(t, w)
	}
	var n int
	if err := w.App.Services().Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// AuditSealed waits until no audit event is pending. A transaction of a request or a
// job commits its events as pending and seals them into audit_event right after
// (audit.Log.Seal): a test that waited for a worker's other effects, which are visible
// from the commit, waits for this before reading audit_event. Count does so for every
// query that names audit_event.
func AuditSealed(t *testing.T, w *LineWorld) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_pending`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d audit events still pending after 10 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ClassID returns the ID of a school's class of a year by its label (2年1組).
func ClassID(t *testing.T, w *LineWorld, schoolID int64, year int, label string) int64 {
	t.Helper()
	var id int64
	if err := w.App.Services().Pool.QueryRow(context.Background(), `SELECT id FROM class WHERE school_id = $1 AND year = $2 AND grade::text || '年' || name = $3`,
		schoolID, year, label).Scan(&id); err != nil {
		t.Fatalf("class %d %s: %v", year, label, err)
	}
	return id
}
