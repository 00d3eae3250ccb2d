package postgres

import (
	"context"
	"strconv"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/postgres/pgtx"
	"github.com/renraku/renraku/internal/vault"
)

// AuditNames names the actors and objects of audit rows for the viewer (audit.Viewer's
// Staff and Objects).
type AuditNames struct {
	Vault *vault.Vault
}

// Staff returns the names and roles of staff accounts.
func (s *AuditNames) Staff(ctx context.Context, ids []int64) (map[int64]audit.StaffName, error) {
	db := pgtx.Tx(ctx)
	out := map[int64]audit.StaffName{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Query(ctx, `SELECT id, name_enc, role FROM staff WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, classify(err, "audit staff")
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var enc []byte
		var role string
		if err := rows.Scan(&id, &enc, &role); err != nil {
			return nil, classify(err, "audit staff")
		}
		name, err := s.Vault.DecryptPersonal(enc, staffAD(id, "name"))
		if err != nil {
			return nil, err
		}
		out[id] = audit.StaffName{Name: name.Reveal(), Role: role}
	}
	return out, classify(rows.Err(), "audit staff")
}

// auditObjectQueries name each kind of object by ID: its own name where it has one
// that is not personal data, else the context it belongs to (a child's class). The
// class label is written as everywhere else (1年1組).
var auditObjectQueries = map[string]string{
	"class":        `SELECT id, grade::text || '年' || name, year::text || '年度' FROM class WHERE id = ANY($1)`,
	"club":         `SELECT id, name, year::text || '年度' FROM club WHERE id = ANY($1)`,
	"school":       `SELECT id, name, '' FROM school WHERE id = ANY($1)`,
	"board":        `SELECT id, name, '' FROM board WHERE id = ANY($1)`,
	"line_channel": `SELECT id, line_channel_id, '' FROM line_channel WHERE id = ANY($1)`,
	"child": `SELECT c.id, '', cl.grade::text || '年' || cl.name FROM child c JOIN class cl ON cl.id = c.class_id
		WHERE c.id = ANY($1)`,
	"guardianship": `SELECT gs.id, '', cl.grade::text || '年' || cl.name FROM guardianship gs JOIN child c ON c.id = gs.child_id
		JOIN class cl ON cl.id = c.class_id WHERE gs.id = ANY($1)`,
	"absence_report": `SELECT a.id, '', cl.grade::text || '年' || cl.name FROM absence_report a JOIN class cl ON cl.id = a.class_id
		WHERE a.id = ANY($1)`,
	"conversation": `SELECT cv.id, '', CASE cv.target WHEN 'homeroom' THEN cl.grade::text || '年' || cl.name || ' 担任'
			WHEN 'advisor' THEN k.name || ' 顧問' ELSE '` + officeLabel + `' END
		FROM conversation cv LEFT JOIN class cl ON cl.id = cv.class_id LEFT JOIN club k ON k.id = cv.club_id WHERE cv.id = ANY($1)`,
	"announcement": `SELECT id, '', audience_label FROM announcement WHERE id = ANY($1)`,
}

// Objects names objects as staff would: 1年1組, a club, a school; a child, a
// registration or an absence report only by their class, never by a person's name.
// Staff members are named by their own name. Objects that are gone keep their number.
func (s *AuditNames) Objects(ctx context.Context, refs []audit.Ref) (map[audit.Ref]audit.ObjectName, error) {
	db := pgtx.Tx(ctx)
	out := map[audit.Ref]audit.ObjectName{}
	byKind := map[string][]int64{}
	for _, r := range refs {
		if id, err := strconv.ParseInt(r.ID, 10, 64); err == nil && id > 0 {
			byKind[r.Kind] = append(byKind[r.Kind], id)
		}
	}
	if ids := byKind["staff"]; len(ids) > 0 {
		staff, err := s.Staff(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, st := range staff {
			out[audit.Ref{Kind: "staff", ID: strconv.FormatInt(id, 10)}] = audit.ObjectName{Name: st.Name}
		}
	}
	for kind, ids := range byKind {
		q, ok := auditObjectQueries[kind]
		if !ok {
			continue
		}
		rows, err := db.Query(ctx, q, ids)
		if err != nil {
			return nil, classify(err, "audit objects")
		}
		for rows.Next() {
			var id int64
			var n audit.ObjectName
			if err := rows.Scan(&id, &n.Name, &n.Context); err != nil {
				rows.Close()
				return nil, classify(err, "audit objects")
			}
			out[audit.Ref{Kind: kind, ID: strconv.FormatInt(id, 10)}] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify(err, "audit objects")
		}
	}
	return out, nil
}
