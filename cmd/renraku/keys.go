package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/renraku/renraku/internal/app"
	"github.com/renraku/renraku/internal/audit"
	"github.com/renraku/renraku/internal/config"
	"github.com/renraku/renraku/internal/postgres"
	"github.com/renraku/renraku/internal/vault"
)

// runKeys manages the encryption keyset: generate --out FILE, rotate, status,
// retire --key-id N; and the Web Push key pair: vapid [--replace]. The master key comes
// from RENRAKU_MASTER_KEY (or the KMS URI).
func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return errors.New("keys: say generate, rotate, status, retire or vapid")
	}
	sub, args := args[0], args[1:]
	var out string
	var keyID uint
	var replace bool
	cfg, _, err := loadConfig(env, "keys "+sub, args, func(fs *flag.FlagSet) {
		switch sub {
		case "generate":
			fs.StringVar(&out, "out", "", "path of the new keyset file")
		case "retire":
			fs.UintVar(&keyID, "key-id", 0, "ID of the old key to remove")
		case "vapid":
			fs.BoolVar(&replace, "replace", false, "make a new key pair even if one exists (every browser must subscribe again)")
		}
	})
	if err != nil {
		return err
	}
	master, err := masterOf(ctx, cfg)
	if err != nil {
		return err
	}
	switch sub {
	case "generate":
		if out == "" {
			return errors.New("keys generate: --out is required")
		}
		if err := vault.Generate(out, master); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %s (mode 0600). Back it up with the master key, apart from the database backups.\n", out)
		return nil
	case "rotate":
		if cfg.KeysetFile == "" {
			return &config.Error{Var: "RENRAKU_KEYSET_FILE", Flag: "keyset-file", Reason: "required"}
		}
		id, err := vault.Rotate(cfg.KeysetFile, master)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "new primary key %d. Running instances pick it up within a minute and re-encrypt old rows in the background; follow with `renraku keys status`.\n", id)
		return nil
	case "status", "retire", "vapid":
	default:
		return fmt.Errorf("keys: unknown command %q", sub)
	}

	tools, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return err
	}
	defer tools.Close()
	if sub == "vapid" {
		return vapidKeys(ctx, env, tools, replace)
	}
	if sub == "retire" {
		if keyID == 0 {
			return errors.New("keys retire: --key-id is required")
		}
		err := vault.Retire(cfg.KeysetFile, master, uint32(keyID), func(id uint32) (int64, error) {
			return vault.RowsUsingKey(ctx, tools.Pool, postgres.EncryptedColumns, id)
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "key %d retired\n", keyID)
		return nil
	}
	infos, err := vault.Status(cfg.KeysetFile, master)
	if err != nil {
		return err
	}
	prog, err := vault.Progress(ctx, tools.Pool, postgres.EncryptedColumns)
	if err != nil {
		return err
	}
	total := map[uint32]int64{}
	for _, p := range prog {
		for id, n := range p.ByKey {
			total[id] += n
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Primary && !infos[j].Primary })
	for _, k := range infos {
		mark := ""
		if k.Primary {
			mark = " (primary)"
		}
		fmt.Fprintf(env.Stdout, "key %d%s: %s, %d rows\n", k.ID, mark, k.Status, total[k.ID])
	}
	return nil
}

func masterOf(ctx context.Context, cfg *config.Config) (vault.Master, error) {
	switch {
	case cfg.KMSKeyURI != "":
		return vault.MasterFromKMS(ctx, cfg.KMSKeyURI)
	case cfg.MasterKey != nil:
		return vault.MasterFromKey(cfg.MasterKey)
	}
	return vault.Master{}, &config.Error{Var: "RENRAKU_MASTER_KEY", Reason: "required (or RENRAKU_KMS_KEY_URI): it unlocks the keyset"}
}

// runAudit checks the audit log: `audit verify [--head H]` walks the whole chain (and
// checks it still holds a head kept outside the database); `audit head` prints the
// chain's current signed head, to keep.
func runAudit(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "head") {
		return errors.New("audit: say verify [--head H] or head")
	}
	sub := args[0]
	var head string
	cfg, _, err := loadConfig(env, "audit "+sub, args[1:], func(fs *flag.FlagSet) {
		if sub == "verify" {
			fs.StringVar(&head, "head", "", "a kept signed head (audit-head-v1:…), or a file (such as a log) holding one: the chain must still hold it")
		}
	})
	if err != nil {
		return err
	}
	tools, err := app.OpenTools(ctx, cfg, newLogger(env, cfg))
	if err != nil {
		return err
	}
	defer tools.Close()
	if sub == "head" {
		h, err := audit.CurrentHead(ctx, tools.Pool)
		if err != nil {
			return err
		}
		signed, err := tools.Audit.SignHead(h)
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, signed)
		return nil
	}
	var rep audit.Report
	if head == "" {
		rep, err = tools.Audit.Verify(ctx, tools.Pool)
	} else {
		text := head
		if !strings.Contains(head, "audit-head-v1:") {
			b, rerr := os.ReadFile(head)
			if rerr != nil {
				return fmt.Errorf("audit verify --head: %w", rerr)
			}
			text = string(b)
		}
		kept, perr := tools.Audit.ParseHead(text)
		if perr != nil {
			return fmt.Errorf("audit verify --head: %w", perr)
		}
		rep, err = tools.Audit.VerifyWithHead(ctx, tools.Pool, kept)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, rep.String())
	if !rep.OK {
		return errors.New("audit chain broken")
	}
	return nil
}

// vapidKeys makes the server's Web Push (VAPID) key pair, stored encrypted in the
// database; the public key is printed (browsers receive it from the account page).
func vapidKeys(ctx context.Context, env *Env, tools *app.Tools, replace bool) error {
	public, made, err := tools.Notify.GenerateVAPID(ctx, replace)
	if err != nil {
		return err
	}
	switch {
	case made && replace:
		fmt.Fprintf(env.Stdout, "new VAPID key pair; every browser subscription ended (staff subscribe again on their account page).\npublic key: %s\n", public)
	case made:
		fmt.Fprintf(env.Stdout, "VAPID key pair made; Web Push is on.\npublic key: %s\n", public)
	default:
		fmt.Fprintf(env.Stdout, "a VAPID key pair exists already (--replace makes a new one).\npublic key: %s\n", public)
	}
	return nil
}
