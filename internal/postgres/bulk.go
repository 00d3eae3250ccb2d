package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/registration"
	"github.com/renraku/renraku/internal/vault"
)

// Family is a guardian with one child, as load tests and benchmarks need them by the
// ten thousand: written with COPY, encrypted exactly as the app writes them.
type Family struct {
	UserID    string // the parent's LINE user ID
	ChannelID int64
	SchoolID  int64
	ClassID   int64
	Nickname  string
	ChildName string
	Language  string
	Verified  bool
	Following bool
}

// SeedFamilies writes families (LINE friends, guardians, children, guardianships) in
// one transaction. Child names must be unique per class.
func SeedFamilies(ctx context.Context, pool *pgxpool.Pool, v *vault.Vault, fams []Family) error {
	if len(fams) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		first := func(table string) (int64, error) {
			var last int64
			err := tx.QueryRow(ctx, `SELECT setval(seq, nextval(seq) + $2 - 1) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) s`,
				table, len(fams)).Scan(&last)
			return last - int64(len(fams)) + 1, err
		}
		friend0, err := first("line_friend")
		if err != nil {
			return fmt.Errorf("reserve friend ids: %w", err)
		}
		guardian0, err := first("guardian")
		if err != nil {
			return fmt.Errorf("reserve guardian ids: %w", err)
		}
		child0, err := first("child")
		if err != nil {
			return fmt.Errorf("reserve child ids: %w", err)
		}
		now := time.Now()
		friends := make([][]any, 0, len(fams))
		guardians := make([][]any, 0, len(fams))
		children := make([][]any, 0, len(fams))
		ships := make([][]any, 0, len(fams))
		for i, f := range fams {
			fid, gid, cid := friend0+int64(i), guardian0+int64(i), child0+int64(i)
			ukey, err := v.BlindIndex(userKeyDomain, f.UserID)
			if err != nil {
				return err
			}
			uenc, err := v.EncryptPersonal(vault.Personal(f.UserID), friendAD(fid))
			if err != nil {
				return err
			}
			lang := f.Language
			if lang == "" {
				lang = "ja"
			}
			var unfollowed any
			if !f.Following {
				unfollowed = now
			}
			friends = append(friends, []any{fid, f.ChannelID, ukey, uenc, lang, f.Following, "member", now, unfollowed})
			enc := func(val, col string) ([]byte, error) {
				return v.EncryptPersonal(vault.Personal(val), guardianAD(gid, col))
			}
			name, err := enc(f.Nickname+"（保護者）", "name")
			if err != nil {
				return err
			}
			rel, err := enc("mother", "relationship")
			if err != nil {
				return err
			}
			nick, err := enc(f.Nickname, "nickname")
			if err != nil {
				return err
			}
			guardians = append(guardians, []any{gid, fid, name, rel, nick, lang, registration.NoticeVersion, now})
			cname, err := v.EncryptPersonal(vault.Personal(f.ChildName), vault.NewADForID("child", "name", cid))
			if err != nil {
				return err
			}
			ckey, err := v.BlindIndex(childNameDomain, itoa64(f.ClassID)+"|"+registrationNameKey(f.ChildName))
			if err != nil {
				return err
			}
			children = append(children, []any{cid, f.SchoolID, f.ClassID, cname, ckey})
			status, method := registration.Verified, "code"
			if !f.Verified {
				status, method = registration.Pending, ""
			}
			ships = append(ships, []any{gid, cid, status, method})
		}
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"line_friend", []string{"id", "channel_id", "user_key", "user_id_enc", "language", "following", "richmenu_kind", "followed_at", "unfollowed_at"}, friends},
			{"guardian", []string{"id", "friend_id", "name_enc", "relationship_enc", "nickname_enc", "language", "consent_version", "consented_at"}, guardians},
			{"child", []string{"id", "school_id", "class_id", "name_enc", "name_key"}, children},
			{"guardianship", []string{"guardian_id", "child_id", "status", "method"}, ships},
		} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		return nil
	})
}
