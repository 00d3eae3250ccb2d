package announce

import (
	"testing"
)

// TestPlannerPlacesEachGuardianOnce feeds a planner an audience in steps, some
// guardians twice (several children) and one already placed by an earlier run, and
// checks that every following guardian is in exactly one batch of their channel and
// language, no batch over the size, and the blocked ones skipped once.
func TestPlannerPlacesEachGuardianOnce(t *testing.T) {
	p := newPlanner(3)
	p.seen[1] = true // placed by an earlier run
	var members []Member
	for g := int64(1); g <= 20; g++ {
		m := Member{GuardianID: g, FriendID: 100 + g, ChannelID: g % 3, Following: g%7 != 0, Language: "ja"}
		if g%5 == 0 {
			m.Language = "en"
		}
		members = append(members, m, m) // every guardian comes twice
	}
	var batches []NewBatch
	var skipped []Member
	for i, m := range members {
		if p.add(m) && i%4 == 0 {
			b, s := p.take(false)
			batches, skipped = append(batches, b...), append(skipped, s...)
		}
	}
	b, s := p.take(true)
	batches, skipped = append(batches, b...), append(skipped, s...)

	placed := map[int64]int{}
	for _, b := range batches {
		if len(b.Guardians) == 0 || len(b.Guardians) > 3 || len(b.Guardians) != len(b.Friends) {
			t.Fatalf("batch of %d guardians, %d friends", len(b.Guardians), len(b.Friends))
		}
		for i, g := range b.Guardians {
			placed[g]++
			want := members[2*(g-1)]
			if b.Friends[i] != want.FriendID || b.ChannelID != want.ChannelID || b.Language != want.Language {
				t.Errorf("guardian %d in batch of channel %d %s with friend %d", g, b.ChannelID, b.Language, b.Friends[i])
			}
		}
	}
	for _, m := range skipped {
		placed[m.GuardianID] += 100
	}
	for g := int64(2); g <= 20; g++ {
		want := 1
		if g%7 == 0 {
			want = 100
		}
		if placed[g] != want {
			t.Errorf("guardian %d placed %d (want %d; 100 = skipped)", g, placed[g], want)
		}
	}
	if placed[1] != 0 {
		t.Errorf("guardian placed by the earlier run placed again")
	}
	if b, s := p.take(true); len(b) > 0 || len(s) > 0 {
		t.Errorf("planner not empty after the last step: %d batches, %d skipped", len(b), len(s))
	}
}
