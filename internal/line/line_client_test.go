package line_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/renraku/renraku/internal/apptest"
	"github.com/renraku/renraku/internal/line"
	"github.com/renraku/renraku/internal/lineapi"
)

func TestMulticastBatchesAndQuota(t *testing.T) {
	t.Parallel()
	w := apptest.StartLineWorld(t)
	c := w.App.Services().LINE.Client
	ctx := context.Background()

	var ids []string
	for i := 0; i < 1201; i++ {
		ids = append(ids, fmt.Sprintf("U%032x", i+1))
	}
	batches := lineapi.Batches(ids)
	if len(batches) != 3 || len(batches[0]) != 500 || len(batches[1]) != 500 || len(batches[2]) != 201 {
		t.Fatalf("batches of %d, %d, %d", len(batches[0]), len(batches[1]), len(batches[2]))
	}
	if _, err := c.Multicast(ctx, w.Ch.API(), ids[:501], "", []line.Message{{Text: "x"}}); !errors.Is(err, lineapi.ErrInvalidMessage) {
		t.Fatalf("501 recipients: %v", err)
	}

	// Real friends, so LINE counts the messages.
	var friends []string
	for i := 0; i < 3; i++ {
		u := w.NewParent(t, fmt.Sprintf("保護者%d", i))
		if _, err := w.Sim.Follow(w.Ch.LineChannelID, u.ID); err != nil {
			t.Fatal(err)
		}
		friends = append(friends, u.ID)
	}
	for _, u := range friends {
		apptest.WaitBotText(t, w, u, "友だち追加", 1)
	}
	before, err := c.Quota(ctx, w.Ch.API())
	if err != nil {
		t.Fatal(err)
	}
	key := "3f1c2a4e-9b7d-4c1e-8a2b-0d5e6f7a8b9c"
	if _, err := c.Multicast(ctx, w.Ch.API(), friends, key, []line.Message{{Text: "【さくら小学校】不審者情報"}}); err != nil {
		t.Fatal(err)
	}
	// The same retry key again: LINE accepted it already (409), nothing delivered twice.
	_, err = c.Multicast(ctx, w.Ch.API(), friends, key, []line.Message{{Text: "【さくら小学校】不審者情報"}})
	var ae *lineapi.APIError
	if !errors.As(err, &ae) || ae.Status != 409 {
		t.Fatalf("repeated retry key: %v", err)
	}
	after, err := c.Quota(ctx, w.Ch.API())
	if err != nil {
		t.Fatal(err)
	}
	if after.Used-before.Used != int64(len(friends)) {
		t.Fatalf("quota used %d → %d, want +%d (one per recipient, once)", before.Used, after.Used, len(friends))
	}
	for _, u := range friends {
		apptest.WaitBotText(t, w, u, "不審者情報", 1)
	}
}
