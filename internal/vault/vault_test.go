package vault_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// MustMaster returns the Master for a raw key.
func MustMaster(t testing.TB, key []byte) vault.Master {
	t.Helper()
	m, err := vault.MasterFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// MustOpen opens the keyset at path with a raw master key.
func MustOpen(t testing.TB, path string, key []byte) *vault.Vault {
	t.Helper()
	v, err := vault.Open(path, MustMaster(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// MustEncrypt encrypts p for ad.
func MustEncrypt(t testing.TB, v *vault.Vault, p vault.Personal, ad vault.AD) []byte {
	t.Helper()
	ct, err := v.EncryptPersonal(p, ad)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// MustKeyID returns the ID of the key that encrypted ct.
func MustKeyID(t testing.TB, ct []byte) uint32 {
	t.Helper()
	id, err := vault.KeyIDOf(ct)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// MustStatus returns the keys in the keyset at path.
func MustStatus(t testing.TB, path string, m vault.Master) []vault.KeyInfo {
	t.Helper()
	st, err := vault.Status(path, m)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ad := vault.NewADForID("guardian", "name", 42)
	tests := []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"50 bytes", strings.Repeat("x", 50)},
		{"2 KB", strings.Repeat("y", 2048)},
		{"japanese name", "山田 花子"},
		{"japanese 2 KB message", strings.Repeat("明日は発熱のため欠席します。", 2048/42+1)},
		{"emoji and newlines", "よろしくお願いします🙇\n\r\t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct := MustEncrypt(t, v, vault.Personal(tt.value), ad)
			if tt.value != "" && bytes.Contains(ct, []byte(tt.value[:min(len(tt.value), 8)])) {
				t.Fatal("ciphertext contains the plaintext")
			}
			if id, err := vault.KeyIDOf(ct); err != nil || id != v.PrimaryKeyID() {
				t.Fatalf("KeyIDOf = %d, %v; want the primary %d", id, err, v.PrimaryKeyID())
			}
			if again := MustEncrypt(t, v, vault.Personal(tt.value), ad); bytes.Equal(again, ct) {
				t.Fatal("two encryptions of one value are equal: the nonce is not random")
			}
			got, err := v.DecryptPersonal(ct, ad)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.value, got.Reveal()); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBytesRoundTrip(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ad := vault.NewAD("handout", "pdf", "2026/3")
	tests := []struct {
		name  string
		value []byte
		want  []byte
	}{
		{"nil", nil, []byte{}},
		{"empty", []byte{}, []byte{}},
		{"binary with zero bytes", []byte{0, 0xff, 0, 0x89, 'P', 'N', 'G'}, []byte{0, 0xff, 0, 0x89, 'P', 'N', 'G'}},
		{"64 KB image", bytes.Repeat([]byte{0xde, 0xad}, 32<<10), bytes.Repeat([]byte{0xde, 0xad}, 32<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, err := v.EncryptBytes(tt.value, ad)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.DecryptBytes(ct, ad)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssociatedDataBinding(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	const secret = "山田 花子"
	ct := MustEncrypt(t, v, secret, vault.NewAD("guardian", "name", "42"))
	tests := []struct {
		name string
		ad   vault.AD
	}{
		{"other row", vault.NewAD("guardian", "name", "43")},
		{"other column", vault.NewAD("guardian", "nickname", "42")},
		{"other table", vault.NewAD("child", "name", "42")},
		{"shifted boundaries", vault.NewAD("guardia", "nname", "42")},
		{"row with a suffix", vault.NewAD("guardian", "name", "420")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.DecryptPersonal(ct, tt.ad)
			if !errors.Is(err, vault.ErrDecrypt) || got != "" {
				t.Fatalf("got %q, err %v; want ErrDecrypt and nothing", got.Reveal(), err)
			}
			msg := err.Error()
			if strings.Contains(msg, "山田") || strings.Contains(msg, "43") {
				t.Fatalf("error repeats the value or the row: %v", err)
			}
			if !strings.Contains(msg, tt.ad.Table()+"."+tt.ad.Column()) {
				t.Fatalf("error does not name the place: %v", err)
			}
		})
	}
	if got, err := v.DecryptPersonal(ct, vault.NewADForID("guardian", "name", 42)); err != nil || got.Reveal() != secret {
		t.Fatalf("NewADForID and NewAD disagree: %v", err)
	}
}

func TestIncompleteADIsRefused(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ct := MustEncrypt(t, v, "x", vault.NewAD("t", "c", "1"))
	tests := []struct {
		name string
		ad   vault.AD
	}{
		{"zero", vault.AD{}},
		{"no table", vault.NewAD("", "c", "1")},
		{"no column", vault.NewAD("t", "", "1")},
		{"no row", vault.NewAD("t", "c", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := v.EncryptPersonal("x", tt.ad); err == nil {
				t.Error("Encrypt accepted an incomplete AD")
			}
			if _, err := v.DecryptPersonal(ct, tt.ad); err == nil {
				t.Error("Decrypt accepted an incomplete AD")
			}
		})
	}
}

func TestTamperedCiphertext(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ad := vault.NewAD("message", "body", "7")
	plain := []byte("先生、明日は欠席します。")
	ct, err := v.EncryptBytes(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	// Layout: 1 version byte, 4 key ID bytes, 12 nonce bytes, body, 16 tag bytes.
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"prefix version byte", flip(0)},
		{"prefix key id", flip(3)},
		{"nonce", flip(5 + 6)},
		{"body first byte", flip(17)},
		{"body last byte", flip(17 + len(plain) - 1)},
		{"tag", flip(len(ct) - 1)},
		{"nil", func([]byte) []byte { return nil }},
		{"one byte", func(b []byte) []byte { return b[:1] }},
		{"prefix only", func(b []byte) []byte { return b[:5] }},
		{"prefix and nonce only", func(b []byte) []byte { return b[:17] }},
		{"tag cut short", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extra byte", func(b []byte) []byte { return append(b, 0) }},
		{"version 0 (legacy prefix)", func(b []byte) []byte { b[0] = 0; return b }},
	}
	for i := range ct {
		tests = append(tests, struct {
			name   string
			mutate func([]byte) []byte
		}{fmt.Sprintf("every position/%03d", i), flip(i)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.DecryptBytes(tt.mutate(bytes.Clone(ct)), ad)
			if !errors.Is(err, vault.ErrDecrypt) || got != nil {
				t.Fatalf("got %q, err = %v; want ErrDecrypt and nothing", got, err)
			}
		})
	}
}

func flip(i int) func([]byte) []byte {
	return func(b []byte) []byte { b[i] ^= 0x01; return b }
}

func TestKeyIDOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ct      []byte
		want    uint32
		wantErr bool
	}{
		{"tink prefix", []byte{1, 0x12, 0x34, 0x56, 0x78, 9, 9}, 0x12345678, false},
		{"prefix only", []byte{1, 0, 0, 0, 7}, 7, false},
		{"too short", []byte{1, 0, 0, 7}, 0, true},
		{"legacy prefix", []byte{0, 0, 0, 0, 7}, 0, true},
		{"nil", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := vault.KeyIDOf(tt.ct)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("KeyIDOf = %d, %v; want %d, error %t", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, vault.ErrDecrypt) {
				t.Fatalf("error %v does not wrap ErrDecrypt", err)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	v1, v2 := MustOpen(t, path, key), MustOpen(t, path, key)
	other := vaulttest.New(t)
	const user = "U0123456789abcdef0123456789abcdef"
	index := func(v *vault.Vault, domain, value string) []byte {
		t.Helper()
		b, err := v.BlindIndex(domain, value)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != vault.BlindIndexLen {
			t.Fatalf("index has %d bytes, want %d", len(b), vault.BlindIndexLen)
		}
		return b
	}
	base := index(v1, "line.user_id", user)
	tests := []struct {
		name  string
		got   []byte
		equal bool
	}{
		{"same value, same instance", index(v1, "line.user_id", user), true},
		{"same value, reopened keyset", index(v2, "line.user_id", user), true},
		{"other domain", index(v1, "registration.code", user), false},
		{"other value", index(v1, "line.user_id", user[:len(user)-1]+"e"), false},
		{"other keyset", index(other, "line.user_id", user), false},
		{"case is not normalised", index(v1, "line.user_id", strings.ToUpper(user)), false},
		{"space is not normalised", index(v1, "line.user_id", user+" "), false},
		{"no boundary shift", index(v1, "line.user_i", "d"+user), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if bytes.Equal(base, tt.got) != tt.equal {
				t.Fatalf("equal = %t, want %t", !tt.equal, tt.equal)
			}
		})
	}
	if _, err := v1.BlindIndex("", "x"); err == nil {
		t.Error("empty domain accepted")
	}
	if b, err := v1.BlindIndex("registration.code", ""); err != nil || len(b) != vault.BlindIndexLen {
		t.Errorf("empty value: %v", err)
	}
}
