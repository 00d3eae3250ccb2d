package audit_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/i18n"
	"github.com/renraku/renraku/web"
)

// TestDescribeInWords: a row's codes become the catalogue's words, objects are named as
// staff name them, details are labelled values; a code the catalogue does not know
// stays as it is.
func TestDescribeInWords(t *testing.T) {
	t.Parallel()
	c, err := i18n.Load(web.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	ja := c.Localizer("ja").T
	tests := []struct {
		name string
		e    audit.Entry
		want audit.Words
	}{
		{
			name: "a principal exports absences of a class",
			e: audit.Entry{ActorKind: "staff", ActorID: 3, ActorName: "桜井 校長", ActorRole: "school_admin", Action: "absence.export",
				ObjectKind: "class", ObjectID: "1", Object: audit.ObjectName{Name: "1年1組", Context: "2026年度"},
				Details: []audit.DetailField{{Key: "encoding", Value: "utf-8-bom"}, {Key: "rows", Value: float64(12)}, {Key: "substituted", Value: false}}},
			want: audit.Words{ActorKind: "教職員", Actor: "桜井 校長", Role: "学校管理者", Action: "欠席連絡をCSVで出力した", ObjectKind: "学級",
				Object: "学級 1年1組（2026年度）", Detail: []audit.Label{{Key: "文字コード", Value: "UTF-8（BOM付き）"}, {Key: "件数", Value: "12"},
					{Key: "置き換えた文字", Value: "いいえ"}}},
		},
		{
			name: "a parent registers: numbered, never named",
			e: audit.Entry{ActorKind: "guardian", ActorID: 12, Action: "registration.create", ObjectKind: "guardian", ObjectID: "12",
				Details: []audit.DetailField{{Key: "children", Value: float64(2)}}},
			want: audit.Words{ActorKind: "保護者", Actor: "保護者 No.12", Action: "保護者が登録した", ObjectKind: "保護者", Object: "保護者 No.12",
				Detail: []audit.Label{{Key: "児童・生徒", Value: "2"}}},
		},
		{
			name: "a teacher approves: the registration by its class",
			e: audit.Entry{ActorKind: "staff", ActorID: 5, ActorName: "担任 一郎", ActorRole: "teacher", Action: "registration.approve",
				ObjectKind: "guardianship", ObjectID: "7", Object: audit.ObjectName{Context: "1年1組"}},
			want: audit.Words{ActorKind: "教職員", Actor: "担任 一郎", Role: "教職員", Action: "保護者の登録を承認した", ObjectKind: "保護者の登録",
				Object: "保護者の登録 No.7（1年1組）"},
		},
		{
			name: "the system's retention run and a hand-over's staff member",
			e: audit.Entry{ActorKind: "system", Action: "retention.run",
				Details: []audit.DetailField{{Key: "retention.message", Value: float64(4)}, {Key: "to_staff", Value: float64(9), Name: "佐藤 先生"},
					{Key: "action", Value: "staff."}, {Key: "school_id", Value: float64(0)}}},
			want: audit.Words{ActorKind: "システム", Actor: "システム", Action: "保存期間を過ぎたデータを消去した",
				Detail: []audit.Label{{Key: "保存期間の経過／保護者との連絡（メッセージ）", Value: "4"}, {Key: "引き継ぎ先", Value: "佐藤 先生"},
					{Key: "操作の絞り込み", Value: "教職員（すべて）"}, {Key: "学校", Value: "すべて"}}},
		},
		{
			name: "a code without a label stays readable",
			e: audit.Entry{ActorKind: "operator", Action: "future.thing", ObjectKind: "gadget", ObjectID: "3",
				Details: []audit.DetailField{{Key: "odd", Value: "x"}}},
			want: audit.Words{ActorKind: "サーバー操作", Actor: "サーバー操作", Action: "future.thing", ObjectKind: "gadget", Object: "gadget No.3",
				Detail: []audit.Label{{Key: "odd", Value: "x"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := audit.Describe(tt.e, ja)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
}
