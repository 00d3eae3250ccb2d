package audit

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Ref names one object of the log: its kind and internal ID, as recorded.
type Ref struct {
	Kind string
	ID   string
}

// ObjectName is how staff call an object: its own name (1年1組, a school, a staff
// member) or, for what would take personal data to name (a child, a parent, a
// registration), only the context it belongs to (the child's class). Never a child's or a
// parent's name.
type ObjectName struct {
	Name    string
	Context string
}

// StaffName is a staff member as the log shows them: name and role code.
type StaffName struct {
	Name string
	Role string
}

// DetailField is one entry of a row's detail, with the name of what it refers to when
// it is the ID of a class, club, school or staff member.
type DetailField struct {
	Key   string
	Value any // float64 (JSON numbers), bool or string
	Name  string
}

// detailRefs are the detail keys whose numbers are IDs, and the kind of object they
// name.
var detailRefs = map[string]string{
	"class_id":   "class",
	"from_class": "class",
	"to_class":   "class",
	"club_id":    "club",
	"to_staff":   "staff",
	"actor_id":   "staff",
	"school_id":  "school",
}

// parseDetail reads a row's stored detail, keys in order.
func parseDetail(s string) []DetailField {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || len(m) == 0 {
		return nil
	}
	out := make([]DetailField, 0, len(m))
	for k, v := range m {
		out = append(out, DetailField{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// refs lists the objects a row names: its object and the IDs in its detail.
func (e *Entry) refs() []Ref {
	var out []Ref
	if e.ObjectKind != "" && e.ObjectID != "" {
		out = append(out, Ref{Kind: e.ObjectKind, ID: e.ObjectID})
	}
	for _, f := range e.Details {
		if kind := detailRefs[f.Key]; kind != "" {
			if n, ok := f.Value.(float64); ok && n > 0 {
				out = append(out, Ref{Kind: kind, ID: strconv.FormatInt(int64(n), 10)})
			}
		}
	}
	return out
}

// name fills the row's names from what was found.
func (e *Entry) name(objects map[Ref]ObjectName) {
	if e.ObjectKind != "" && e.ObjectID != "" {
		e.Object = objects[Ref{Kind: e.ObjectKind, ID: e.ObjectID}]
	}
	for i, f := range e.Details {
		if kind := detailRefs[f.Key]; kind != "" {
			if n, ok := f.Value.(float64); ok && n > 0 {
				e.Details[i].Name = objects[Ref{Kind: kind, ID: strconv.FormatInt(int64(n), 10)}].Name
			}
		}
	}
}

// T translates a catalogue message ID in the reader's language (i18n's Localizer.T).
type T func(id string, data ...map[string]any) string

// Words is a row as a person reads it: every code replaced by its label.
type Words struct {
	ActorKind  string
	Actor      string
	Role       string
	Action     string
	ObjectKind string
	Object     string
	Detail     []Label
}

// Label is a labelled value of a row's detail.
type Label struct {
	Key   string
	Value string
}

// DetailText writes the detail on one line: 件数：3 / 文字コード：UTF-8（BOM付き）.
func (w Words) DetailText() string {
	parts := make([]string, 0, len(w.Detail))
	for _, l := range w.Detail {
		parts = append(parts, l.Key+"："+l.Value)
	}
	return strings.Join(parts, " / ")
}

// label translates id, or returns fallback when the catalogue has no such message.
func label(t T, id, fallback string) string {
	if s := t(id); s != id {
		return s
	}
	return fallback
}

// Describe puts a row in words, in the language of t. Codes the catalogue does not know
// (a row older than its label) are shown as they are.
func Describe(e Entry, t T) Words {
	w := Words{ActorKind: label(t, "audit.kind."+e.ActorKind, e.ActorKind)}
	switch {
	case e.ActorKind == string(Staff) && e.ActorName != "":
		w.Actor = e.ActorName
		w.Role = label(t, "role."+e.ActorRole, e.ActorRole)
	case e.ActorID != 0:
		w.Actor = w.ActorKind + " " + t("audit.page.number", map[string]any{"ID": e.ActorID})
	default:
		w.Actor = w.ActorKind
	}
	w.Action = label(t, "audit.action."+e.Action, e.Action)
	if e.ObjectKind != "" {
		w.ObjectKind = label(t, "audit.object."+e.ObjectKind, e.ObjectKind)
		switch {
		case e.Object.Name != "":
			w.Object = w.ObjectKind + " " + e.Object.Name
		case e.ObjectID != "":
			w.Object = w.ObjectKind + " " + t("audit.page.number", map[string]any{"ID": e.ObjectID})
		default:
			w.Object = w.ObjectKind
		}
		if e.Object.Context != "" {
			w.Object += "（" + e.Object.Context + "）"
		}
	}
	for _, f := range e.Details {
		w.Detail = append(w.Detail, Label{Key: detailKey(t, f.Key), Value: detailValue(t, f)})
	}
	return w
}

func detailKey(t T, key string) string {
	if s := label(t, "audit.detail."+key, ""); s != "" {
		return s
	}
	// Counts of the retention run, by reason and category (retention.run).
	if reason, category, ok := strings.Cut(key, "."); ok {
		r, c := label(t, "retention.reason."+reason, ""), label(t, "retention.category."+category, "")
		if r != "" && c != "" {
			return r + "／" + c
		}
	}
	return key
}

func detailValue(t T, f DetailField) string {
	switch v := f.Value.(type) {
	case bool:
		return t("audit.value." + strconv.FormatBool(v))
	case float64:
		if f.Name != "" {
			return f.Name
		}
		if f.Key == "school_id" && v == 0 {
			return t("audit.value.all")
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		if v == "" {
			return "—"
		}
		if f.Key == "action" {
			return actionFilter(t, v)
		}
		return label(t, "audit.value."+f.Key+"."+v, v)
	case nil:
		return "—"
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// actionFilter names an action filter: one action, or every action of an area
// ("staff.").
func actionFilter(t T, v string) string {
	if area, rest, _ := strings.Cut(v, "."); rest == "" {
		if a := label(t, "audit.area."+area, ""); a != "" {
			return t("audit.page.all_of", map[string]any{"Area": a})
		}
	}
	return label(t, "audit.action."+v, v)
}
