package inbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/vault"
)

// namesStore is a Store that knows only conversations' names, and records which it was
// asked for.
type namesStore struct {
	Store
	convs map[int64]Conversation
	asked [][]int64
	// during runs while a read is under way (a change committed meanwhile).
	during func()
	// make makes the conversations not in convs, as a database read does.
	make func(id int64) Conversation
}

func (s *namesStore) FindConversationNames(_ context.Context, ids []int64) ([]Conversation, error) {
	s.asked = append(s.asked, slices.Clone(ids))
	if s.during != nil {
		s.during()
	}
	var out []Conversation
	for _, id := range ids {
		if c, ok := s.convs[id]; ok {
			out = append(out, c)
		} else if s.make != nil {
			out = append(out, s.make(id))
		}
	}
	return out, nil
}

func (s *namesStore) lastAsked() []int64 {
	if len(s.asked) == 0 {
		return nil
	}
	return s.asked[len(s.asked)-1]
}

func testConversations() *namesStore {
	s := &namesStore{convs: map[int64]Conversation{}}
	add := func(id, school, guardian, child int64, nick, name, class, label string) {
		s.convs[id] = Conversation{ID: id, SchoolID: school, GuardianID: guardian, ChildID: child, Nickname: vault.Personal(nick),
			ChildName: vault.Personal(name), ClassLabel: class, Label: label}
	}
	add(1, 1, 10, 100, "木村 恵", "木村 あおい", "1年1組", "1年1組 担任")
	add(2, 1, 10, 100, "木村 恵", "木村 あおい", "1年1組", "サッカークラブ 顧問")
	add(3, 1, 11, 101, "佐々木ママ", "佐々木 蓮", "2年1組", "2年1組 担任")
	add(4, 1, 11, 0, "佐々木ママ", "", "", "学校（事務・管理職）")
	add(5, 2, 12, 102, "Mary Smith", "Tom Smith", "1年A組", "1年A組 担任")
	return s
}

// TestNameIndexMatchesAsMatches: the index finds what Matches finds (spaces ignored on
// both sides, every field, the order of ids kept), the first time by reading the store
// and then without reading it.
func TestNameIndexMatchesAsMatches(t *testing.T) {
	st := testConversations()
	x := NewNameIndex()
	x.Listening(true)
	ids := []int64{4, 3, 2, 1, 5}
	queries := []string{"木村", "木村恵", " 木村  恵 ", "恵", "あおい", "佐々木ママ", "佐々木 マ マ", "1年1組", "担任", "顧問", "サッカー",
		"学校", "事務", "MarySmith", "mary", "Tom Smith", "1年", "組", "x", "木村 蓮", "（"}
	for round := range 2 {
		for _, q := range queries {
			var want []int64
			for _, id := range ids {
				if Matches(st.convs[id], q) {
					want = append(want, id)
				}
			}
			got, err := x.Search(context.Background(), st, ids, q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("round %d, %q: %v, want %v", round, q, got, want)
			}
		}
	}
	if len(st.asked) != 1 || !slices.Equal(st.asked[0], ids) {
		t.Errorf("the store was asked %v, want once for all", st.asked)
	}
	if x.Len() != len(ids) {
		t.Errorf("index holds %d, want %d", x.Len(), len(ids))
	}
	// A conversation the index lacks (a new one) is read alone.
	st.convs[6] = Conversation{ID: 6, SchoolID: 1, GuardianID: 13, Nickname: "新しい 親", Label: "学校（事務・管理職）"}
	got, err := x.Search(context.Background(), st, []int64{6, 1}, "新しい")
	if err != nil || !slices.Equal(got, []int64{6}) || !slices.Equal(st.lastAsked(), []int64{6}) {
		t.Errorf("new conversation: %v %v, asked %v", got, err, st.lastAsked())
	}
	// Without an index every search reads everything.
	var none *NameIndex
	got, err = none.Search(context.Background(), st, ids, "木村")
	if err != nil || !slices.Equal(got, []int64{2, 1}) || !slices.Equal(st.lastAsked(), ids) {
		t.Errorf("nil index: %v %v, asked %v", got, err, st.lastAsked())
	}
}

// TestNameIndexNotify: each notification drops what it names, and only that; the next
// search reads it again and sees the change.
func TestNameIndexNotify(t *testing.T) {
	ctx := context.Background()
	st := testConversations()
	x := NewNameIndex()
	x.Listening(true)
	ids := []int64{1, 2, 3, 4, 5}
	search := func(q string) []int64 {
		t.Helper()
		got, err := x.Search(ctx, st, ids, q)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	search("x")
	for _, c := range []struct {
		payload string
		reread  []int64
	}{
		{"guardian:10", []int64{1, 2}},
		{"child:101", []int64{3}},
		{"conversation:4", []int64{4}},
		{"school:2", []int64{5}},
		{"guardian:999", nil},
		{"school:1", []int64{1, 2, 3, 4}},
		{"nonsense", ids},
		{"guardian:x", ids},
	} {
		st.asked = nil
		x.Notify(c.payload)
		search("x")
		if !slices.Equal(st.lastAsked(), c.reread) {
			t.Errorf("after %q the search read %v, want %v", c.payload, st.lastAsked(), c.reread)
		}
	}
	// A renamed guardian is found by the new name, no longer by the old.
	c := st.convs[3]
	c.Nickname = "佐々木パパ"
	st.convs[3] = c
	if got := search("佐々木パパ"); len(got) != 0 {
		t.Errorf("found %v before the notification (the index is told by the database)", got)
	}
	x.Notify("guardian:11")
	if got := search("佐々木パパ"); !slices.Equal(got, []int64{3}) {
		t.Errorf("after the notification: %v", got)
	}
	if got := search("佐々木ママ"); !slices.Equal(got, []int64{4}) {
		t.Errorf("old name after the notification: %v", got)
	}
}

// TestNameIndexNotListening: before the listener connects, and after it lost its
// connection, nothing is kept (notifications may be missed); a change heard while a
// search reads keeps that search's reading out of the index.
func TestNameIndexNotListening(t *testing.T) {
	ctx := context.Background()
	st := testConversations()
	ids := []int64{1, 2, 3}
	x := NewNameIndex()
	for range 2 {
		if _, err := x.Search(ctx, st, ids, "木村"); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.asked) != 2 || x.Len() != 0 {
		t.Errorf("not listening: read %d times, holds %d", len(st.asked), x.Len())
	}
	x.Listening(true)
	if _, err := x.Search(ctx, st, ids, "木村"); err != nil || x.Len() != 3 {
		t.Fatalf("listening: %v, holds %d", err, x.Len())
	}
	x.Listening(false)
	if x.Len() != 0 {
		t.Errorf("connection lost: holds %d", x.Len())
	}
	x.Listening(true)
	st.during = func() { x.Notify("guardian:10") }
	got, err := x.Search(ctx, st, ids, "木村")
	if err != nil || !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("search during a change: %v %v", got, err)
	}
	if x.Len() != 0 {
		t.Errorf("a reading that may predate a change was kept: holds %d", x.Len())
	}
}

// TestNameIndexFormatsNoName: printing or logging the index (or an entry) shows no name.
func TestNameIndexFormatsNoName(t *testing.T) {
	st := testConversations()
	x := NewNameIndex()
	x.Listening(true)
	if _, err := x.Search(context.Background(), st, []int64{1, 2, 3, 4, 5}, "x"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("index", "index", x)
	log.Info("index", "any", any(x), "struct", struct{ X *NameIndex }{x})
	fmt.Fprintf(&buf, "%v %+v %#v %s %q %d\n", x, x, x, x, x, x)
	x.mu.RLock()
	for _, e := range x.convs {
		fmt.Fprintf(&buf, "%v %+v %#v %s\n", e, e, e, e)
	}
	x.mu.RUnlock()
	for _, c := range st.convs {
		for _, name := range []string{c.Nickname.Reveal(), c.ChildName.Reveal()} {
			if name != "" && strings.Contains(buf.String(), normalise(name)) || name != "" && strings.Contains(buf.String(), name) {
				t.Errorf("%q printed: %s", name, buf.String())
			}
		}
	}
	if !strings.Contains(buf.String(), "5 conversations") {
		t.Errorf("the size is not printed: %s", buf.String())
	}
}

// BenchmarkNameIndex searches 10,000 conversations held in the index (one guardian and
// child each, Japanese names) and reports the index's heap.
func BenchmarkNameIndex(b *testing.B) {
	const n = 10000
	surnames := []string{"佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"}
	given := []string{"陽翔", "蓮", "湊", "蒼", "悠真", "陽葵", "凛", "詩", "結菜", "さくら"}
	ids := make([]int64, n)
	for i := range n {
		ids[i] = int64(i + 1)
	}
	// Each read makes strings of its own, as decrypting and scanning do.
	st := &namesStore{make: func(id int64) Conversation {
		i := int(id - 1)
		sur := surnames[i%len(surnames)]
		class := strconv.Itoa(1+i%6) + "年" + strconv.Itoa(1+i%3) + "組"
		return Conversation{ID: id, SchoolID: 1, GuardianID: id, ChildID: id,
			Nickname:   vault.Personal(sur + " " + given[(i/10)%len(given)] + "ママ"),
			ChildName:  vault.Personal(sur + " " + given[(i/7)%len(given)]),
			ClassLabel: class, Label: class + " 担任"}
	}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := NewNameIndex()
	x.Listening(true)
	if _, err := x.Search(context.Background(), st, ids, "佐藤"); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	for b.Loop() {
		if _, err := x.Search(context.Background(), st, ids, "佐藤 蓮"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/1e6, "index-MB/10k")
}
