package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
)

// NamesChannel is the PostgreSQL notification channel on which the database tells every
// instance that a name a search matches changed (migration 000023's triggers, in the
// changing transaction, whatever code or person made the change). Its payloads name IDs
// only: "guardian:ID" (a nickname), "child:ID" (a child's name or class),
// "conversation:ID" (changed or deleted), "school:ID" (a class or club renamed).
const NamesChannel = "renraku_inbox_names"

// NameIndex keeps, per instance, what a search of the inbox matches — a conversation's
// guardian's nickname and child's name (decrypted), its child's class and its label —
// so that a search over a whole school's conversations decrypts nothing it decrypted
// before. It is filled lazily: a search reads from the store (decrypting) only the
// conversations the index lacks, and adds them. Which conversations a search covers,
// and which it may show, are still decided by the database and internal/authz on every
// request; the index only answers "does this conversation's name match".
//
// It is kept current by NamesChannel's notifications (Notify): each drops the entries it
// names, and the next search reads them again. While the instance is not listening
// (before the listener connects, or after it lost its connection, when notifications
// may have been missed) the index is empty and caches nothing: searches decrypt as
// without it. Reconnecting starts from empty again.
//
// The names stay in this process's memory only: the index has no method that returns
// them, formats (String, GoString, LogValue) as counts, and is never written anywhere.
// Its size is about 2–3 MB per 10,000 conversations (see BenchmarkNameIndex).
type NameIndex struct {
	mu sync.RWMutex
	// listening is whether notifications are heard: only then are entries kept.
	listening bool
	// gen counts the invalidations: a search adds what it read only if none happened
	// since before it read (otherwise what it read may predate a change it was told of).
	gen        uint64
	convs      map[int64]*named
	byGuardian map[int64][]int64
	byChild    map[int64][]int64
}

// named is what a search matches of one conversation, each field normalised as Matches
// normalises (spaces removed). An entry is never changed once made, only dropped, so a
// search may read it without the lock.
type named struct {
	school, guardian, child int64
	nickname, childName     string
	classLabel, label       string
}

// String hides the names.
func (*named) String() string { return "inbox.named{…}" }

// GoString hides the names.
func (*named) GoString() string { return "inbox.named{…}" }

// NewNameIndex returns an empty index that caches nothing until Listening(true).
func NewNameIndex() *NameIndex {
	return &NameIndex{convs: map[int64]*named{}, byGuardian: map[int64][]int64{}, byChild: map[int64][]int64{}}
}

// Len is how many conversations the index holds.
func (x *NameIndex) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.convs)
}

// Caching reports whether the index keeps what searches read (its instance hears
// NamesChannel).
func (x *NameIndex) Caching() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.listening
}

// String is the index's size, never its contents.
func (x *NameIndex) String() string {
	return "inbox.NameIndex(" + strconv.Itoa(x.Len()) + " conversations)"
}

// GoString is the index's size, never its contents.
func (x *NameIndex) GoString() string { return x.String() }

// LogValue is the index's size, never its contents.
func (x *NameIndex) LogValue() slog.Value { return slog.IntValue(x.Len()) }

// Format prints the index's size whatever the verb, so that no %v or %+v of it (or of
// something holding it) prints its maps.
func (x *NameIndex) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(x.String())) }

// Listening tells the index whether the instance hears NamesChannel: true once the
// listener is connected (LISTEN done), false when it lost its connection. Either way
// everything held is dropped, since notifications may have been missed.
func (x *NameIndex) Listening(up bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.listening = up
	x.dropAll()
}

func (x *NameIndex) dropAll() {
	x.gen++
	clear(x.convs)
	clear(x.byGuardian)
	clear(x.byChild)
}

// Notify handles one notification of NamesChannel: it drops the entries the change
// concerns. A payload it does not understand drops everything.
func (x *NameIndex) Notify(payload string) {
	kind, s, _ := strings.Cut(payload, ":")
	id, err := strconv.ParseInt(s, 10, 64)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.gen++
	switch {
	case err != nil:
		x.dropAll()
	case kind == "guardian":
		for _, c := range x.byGuardian[id] {
			x.drop(c)
		}
	case kind == "child":
		for _, c := range x.byChild[id] {
			x.drop(c)
		}
	case kind == "conversation":
		x.drop(id)
	case kind == "school":
		for c, e := range x.convs {
			if e.school == id {
				x.drop(c)
			}
		}
	default:
		x.dropAll()
	}
}

// drop forgets a conversation's entry.
func (x *NameIndex) drop(id int64) {
	e := x.convs[id]
	if e == nil {
		return
	}
	delete(x.convs, id)
	x.byGuardian[e.guardian] = without(x.byGuardian[e.guardian], id)
	if len(x.byGuardian[e.guardian]) == 0 {
		delete(x.byGuardian, e.guardian)
	}
	if e.child != 0 {
		x.byChild[e.child] = without(x.byChild[e.child], id)
		if len(x.byChild[e.child]) == 0 {
			delete(x.byChild, e.child)
		}
	}
}

func without(ids []int64, id int64) []int64 {
	for i, x := range ids {
		if x == id {
			ids[i] = ids[len(ids)-1]
			return ids[:len(ids)-1]
		}
	}
	return ids
}

// Search returns those of ids (in their order) whose names match q as Matches matches
// them. It reads from the store (in ctx's transaction) the conversations the index
// lacks and keeps them. A nil index reads all of them every time.
func (x *NameIndex) Search(ctx context.Context, st Store, ids []int64, q string) ([]int64, error) {
	q = normalise(strings.TrimSpace(q))
	if x == nil {
		return searchStore(ctx, st, ids, q)
	}
	entries := make([]*named, len(ids))
	var missing []int64
	x.mu.RLock()
	gen, listening := x.gen, x.listening
	for i, id := range ids {
		if entries[i] = x.convs[id]; entries[i] == nil {
			missing = append(missing, id)
		}
	}
	x.mu.RUnlock()
	if len(missing) > 0 {
		read, err := st.FindConversationNames(ctx, missing)
		if err != nil {
			return nil, err
		}
		loaded := make(map[int64]*named, len(read))
		in := interner{}
		for _, c := range read {
			loaded[c.ID] = &named{school: c.SchoolID, guardian: c.GuardianID, child: c.ChildID,
				nickname: in.of(normalise(c.Nickname.Reveal())), childName: in.of(normalise(c.ChildName.Reveal())),
				classLabel: in.of(normalise(c.ClassLabel)), label: in.of(normalise(c.Label))}
		}
		for i, id := range ids {
			if entries[i] == nil {
				entries[i] = loaded[id]
			}
		}
		if listening {
			x.add(gen, loaded)
		}
	}
	out := ids[:0:0]
	for i, e := range entries {
		if e != nil && e.matches(q) {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// add keeps what a search read, unless the index was invalidated since before it read.
func (x *NameIndex) add(gen uint64, loaded map[int64]*named) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.gen != gen || !x.listening {
		return
	}
	for id, e := range loaded {
		if x.convs[id] != nil {
			continue // another search added it meanwhile
		}
		x.convs[id] = e
		x.byGuardian[e.guardian] = append(x.byGuardian[e.guardian], id)
		if e.child != 0 {
			x.byChild[e.child] = append(x.byChild[e.child], id)
		}
	}
}

// searchStore is a search without the index: it reads and decrypts the names of every
// conversation of ids.
func searchStore(ctx context.Context, st Store, ids []int64, q string) ([]int64, error) {
	named, err := st.FindConversationNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := ids[:0:0]
	for _, c := range named {
		if Matches(c, q) {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

func (e *named) matches(q string) bool {
	return strings.Contains(e.nickname, q) || strings.Contains(e.childName, q) ||
		strings.Contains(e.classLabel, q) || strings.Contains(e.label, q)
}

// normalise is what Matches ignores in a name and in the search words: spaces.
func normalise(s string) string { return strings.ReplaceAll(s, " ", "") }

// interner shares one copy of equal strings (a guardian's nickname over their
// conversations, a class's label over its children).
type interner map[string]string

func (in interner) of(s string) string {
	if t, ok := in[s]; ok {
		return t
	}
	in[s] = s
	return s
}
