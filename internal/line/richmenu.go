package line

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/renraku/renraku/internal/jobs"
	"github.com/renraku/renraku/internal/line/menu"
	"github.com/renraku/renraku/internal/lineapi"
	"github.com/renraku/renraku/internal/txn"
)

// Rich menu images: PNGs at LINE's exact sizes, made by scripts/richmenu (HTML rendered
// in Chromium), committed so a deployment needs no browser.
//
//go:embed richmenu/*.png
var richMenuImages embed.FS

// Rich menu kinds (see package menu).
const (
	MenuGuest  = menu.Guest
	MenuMember = menu.Member
)

// MenuSpec is a rich menu definition with its image.
type MenuSpec struct {
	Kind  string
	Menu  lineapi.RichMenu
	Image []byte
}

// Hash identifies the definition and image, so sync recreates a menu only on change.
func (m MenuSpec) Hash() string {
	b, _ := json.Marshal(m.Menu) // as LINE receives it
	h := sha256.New()
	h.Write(b)
	h.Write(m.Image)
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// LIFFURLBase is where LINE serves LIFF apps: https://liff.line.me/{liffId}/{path}
// opens the app's endpoint URL (renraku's base URL) with path added.
const LIFFURLBase = "https://liff.line.me/"

// LIFFPageURL is the LIFF URL of one of the rich menu's pages (menu.Page…) for a
// channel with a LIFF app.
func LIFFPageURL(ch Channel, page string) string {
	return LIFFURLBase + ch.LIFFID + "/p/liff/" + ch.LineChannelID + "/" + page
}

// MenuSpecs returns the guest and member menu definitions of a channel. Where the
// channel has a LIFF app, the buttons that open a page do so in one tap (a URI action
// to the LIFF app); otherwise every button is a postback the bot answers.
func MenuSpecs(ch Channel) ([]MenuSpec, error) {
	var out []MenuSpec
	for _, k := range menu.Layouts {
		img, err := richMenuImages.ReadFile("richmenu/" + k.Kind + ".png")
		if err != nil {
			return nil, fmt.Errorf("line: rich menu image: %w", err)
		}
		rm := lineapi.RichMenu{
			Width:       k.Width,
			Height:      k.Height,
			Selected:    true,
			Name:        "renraku-" + k.Kind,
			ChatBarText: "メニュー",
		}
		rows := (int64(len(k.Buttons)) + k.Columns - 1) / k.Columns
		cellW, cellH := k.Width/k.Columns, k.Height/rows
		for i, b := range k.Buttons {
			col, row := int64(i)%k.Columns, int64(i)/k.Columns
			w := cellW
			if col == k.Columns-1 {
				w = k.Width - col*cellW // the last column takes the remainder
			}
			action := Action{Kind: "postback", Label: b.Label, Data: PostbackData(b.Postback, ""), DisplayText: b.Label}
			if b.Page != "" && ch.LIFFID != "" && ch.LoginChannelID != "" {
				action = Action{Kind: "uri", Label: b.Label, URI: LIFFPageURL(ch, b.Page)}
			}
			rm.Areas = append(rm.Areas, lineapi.RichMenuArea{X: col * cellW, Y: row * cellH, Width: w, Height: cellH, Action: action})
		}
		spec := MenuSpec{Kind: k.Kind, Menu: rm, Image: img}
		spec.Menu.Name = "renraku-" + k.Kind + "-" + spec.Hash()[:8]
		out = append(out, spec)
	}
	return out, nil
}

// SyncRichMenus makes the channel's menus on LINE match MenuSpecs: it creates a menu
// (and uploads its image) only when the definition changed, sets the guest menu as the
// default, and deletes renraku's menus that are no longer current. Running it twice
// leaves one set.
func (s *Service) SyncRichMenus(ctx context.Context, ch Channel) (created int, err error) {
	specs, err := MenuSpecs(ch)
	if err != nil {
		return 0, err
	}
	records, err := txn.Get(ctx, s.Tx, func(ctx context.Context) ([]RichMenuRecord, error) { return s.Store.FindRichMenus(ctx, ch.ID) })
	if err != nil {
		return 0, err
	}
	current := map[string]RichMenuRecord{}
	for _, r := range records {
		current[r.Kind] = r
	}
	list, err := s.Client.RichMenus(ctx, ch.API())
	if err != nil {
		return 0, err
	}
	onLINE := map[string]bool{}
	for _, m := range list {
		onLINE[m.ID] = true
	}
	keep := map[string]bool{}
	for _, spec := range specs {
		rec, ok := current[spec.Kind]
		if ok && rec.SpecHash == spec.Hash() && onLINE[rec.RichMenuID] {
			keep[rec.RichMenuID] = true
			continue
		}
		id, err := s.Client.CreateRichMenu(ctx, ch.API(), spec.Menu, spec.Image)
		if err != nil {
			return created, err
		}
		if err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			return s.Store.SaveRichMenu(ctx, RichMenuRecord{ChannelID: ch.ID, Kind: spec.Kind, RichMenuID: id, SpecHash: spec.Hash()})
		}); err != nil {
			return created, err
		}
		current[spec.Kind] = RichMenuRecord{Kind: spec.Kind, RichMenuID: id}
		keep[id] = true
		created++
	}
	if err := s.Client.SetDefaultRichMenu(ctx, ch.API(), current[MenuGuest].RichMenuID); err != nil {
		return created, err
	}
	for _, m := range list {
		if strings.HasPrefix(m.Name, "renraku-") && !keep[m.ID] {
			if err := s.Client.DeleteRichMenu(ctx, ch.API(), m.ID); err != nil {
				return created, err
			}
		}
	}
	return created, nil
}

// LinkRichMenuArgs is the job that links a friend's rich menu (member after
// registration, guest after withdrawal).
type LinkRichMenuArgs struct {
	FriendID int64  `json:"friend_id"`
	Menu     string `json:"menu"` // MenuGuest or MenuMember
}

// Kind names the job.
func (LinkRichMenuArgs) Kind() string { return "line.link_richmenu" }

// InsertOpts puts the job on the delivery queue.
func (LinkRichMenuArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDelivery, MaxAttempts: 10}
}

type linkWorker struct {
	river.WorkerDefaults[LinkRichMenuArgs]
	s *Service
}

func (w *linkWorker) Work(ctx context.Context, job *river.Job[LinkRichMenuArgs]) error {
	return w.s.LinkRichMenu(ctx, job.Args.FriendID, job.Args.Menu)
}

// LinkRichMenu gives one friend the member menu, or (kind guest) returns them to the
// default. The channel's menus must have been synced.
func (s *Service) LinkRichMenu(ctx context.Context, friendID int64, kind string) error {
	f, err := s.FindFriend(ctx, friendID)
	if err != nil {
		return err
	}
	ch, err := s.FindChannel(ctx, f.ChannelID)
	if err != nil {
		return err
	}
	if kind == MenuGuest {
		if err := s.Client.UnlinkRichMenu(ctx, ch.API(), f.UserID.Reveal()); err != nil {
			return err
		}
		return s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Store.SetFriendRichMenu(ctx, f.ID, MenuGuest) })
	}
	records, err := txn.Get(ctx, s.Tx, func(ctx context.Context) ([]RichMenuRecord, error) { return s.Store.FindRichMenus(ctx, ch.ID) })
	if err != nil {
		return err
	}
	for _, r := range records {
		if r.Kind == MenuMember {
			if err := s.Client.LinkRichMenu(ctx, ch.API(), f.UserID.Reveal(), r.RichMenuID); err != nil {
				return err
			}
			return s.Tx.InTx(ctx, func(ctx context.Context) error { return s.Store.SetFriendRichMenu(ctx, f.ID, MenuMember) })
		}
	}
	return fmt.Errorf("line: channel %d has no member rich menu: run `renraku line richmenu sync`", ch.ID)
}
