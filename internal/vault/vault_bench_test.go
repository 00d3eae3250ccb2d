package vault_test

import (
	"strings"
	"testing"

	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

func BenchmarkFields(b *testing.B) {
	v := vaulttest.New(b)
	ad := vault.NewAD("guardian", "name", "12345")
	for _, size := range []struct {
		name string
		n    int
	}{{"50B", 50}, {"2KB", 2048}} {
		plain := vault.Personal(strings.Repeat("x", size.n))
		ct := MustEncrypt(b, v, plain, ad)
		b.Run("encrypt_"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			for b.Loop() {
				if _, err := v.EncryptPersonal(plain, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decrypt_"+size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			for b.Loop() {
				if _, err := v.DecryptPersonal(ct, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("blind_index", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.BlindIndex("line.user_id", "U0123456789abcdef0123456789abcdef"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
