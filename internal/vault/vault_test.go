package vault_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

func master(t *testing.T, key []byte) vault.Master {
	t.Helper()
	m, err := vault.MasterFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func open(t *testing.T, path string, key []byte) *vault.Vault {
	t.Helper()
	v, err := vault.Open(path, master(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ad := vault.NewAD("guardian", "name", "42")
	tests := []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"50 bytes", strings.Repeat("x", 50)},
		{"2 KB", strings.Repeat("連絡", 341)},
		{"japanese name", "山田 花子"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, err := v.EncryptPersonal(vault.Personal(tt.value), ad)
			if err != nil {
				t.Fatal(err)
			}
			if tt.value != "" && bytes.Contains(ct, []byte(tt.value)) {
				t.Fatal("ciphertext contains the plaintext")
			}
			got, err := v.DecryptPersonal(ct, ad)
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tt.value {
				t.Fatalf("got %q", got.Reveal())
			}
		})
	}
}

func TestAssociatedDataBinding(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ct, err := v.EncryptPersonal("山田 花子", vault.NewAD("guardian", "name", "42"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ad   vault.AD
	}{
		{"other row", vault.NewAD("guardian", "name", "43")},
		{"other column", vault.NewAD("guardian", "nickname", "42")},
		{"other table", vault.NewAD("child", "name", "42")},
		{"shifted boundaries", vault.NewAD("guardia", "nname", "42")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := v.DecryptPersonal(ct, tt.ad)
			if !errors.Is(err, vault.ErrDecrypt) || got != "" {
				t.Fatalf("got %q, err %v; want ErrDecrypt", got.Reveal(), err)
			}
			if strings.Contains(err.Error(), "山田") {
				t.Fatalf("error repeats the value: %v", err)
			}
		})
	}
}

func TestTamperedCiphertext(t *testing.T) {
	t.Parallel()
	v := vaulttest.New(t)
	ad := vault.NewAD("message", "body", "7")
	ct, err := v.EncryptBytes([]byte("先生、明日は欠席します。"), ad)
	if err != nil {
		t.Fatal(err)
	}
	positions := map[string]int{"version byte": 0, "key id": 2, "nonce": 8, "body": 20, "tag": len(ct) - 1}
	for name, i := range positions {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bad := bytes.Clone(ct)
			bad[i] ^= 0x01
			if _, err := v.DecryptBytes(bad, ad); !errors.Is(err, vault.ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
	for _, bad := range [][]byte{nil, {1}, {1, 2, 3, 4, 5}, ct[:len(ct)-5]} {
		if _, err := v.DecryptBytes(bad, ad); !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("truncated %d bytes: err = %v", len(bad), err)
		}
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	v1, v2 := open(t, path, key), open(t, path, key)
	a, _ := v1.BlindIndex("line.user_id", "U0123456789abcdef0123456789abcdef")
	b, _ := v2.BlindIndex("line.user_id", "U0123456789abcdef0123456789abcdef")
	c, _ := v1.BlindIndex("registration.code", "U0123456789abcdef0123456789abcdef")
	d, _ := v1.BlindIndex("line.user_id", "U0123456789abcdef0123456789abcdee")
	if len(a) != vault.BlindIndexLen || !bytes.Equal(a, b) {
		t.Error("index not stable across opens")
	}
	if bytes.Equal(a, c) {
		t.Error("domains not separated")
	}
	if bytes.Equal(a, d) {
		t.Error("different values share an index")
	}
	other := vaulttest.New(t)
	e, _ := other.BlindIndex("line.user_id", "U0123456789abcdef0123456789abcdef")
	if bytes.Equal(a, e) {
		t.Error("index does not depend on the key")
	}
	if _, err := v1.BlindIndex("", "x"); err == nil {
		t.Error("empty domain accepted")
	}
}

func TestKeysetFileErrors(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyset mode = %v, want 0600", fi.Mode().Perm())
	}
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	_ = os.WriteFile(corrupt, []byte(`{"format":"something else"}`), 0o600)
	garbage := filepath.Join(dir, "garbage.json")
	_ = os.WriteFile(garbage, []byte("not json at all"), 0o600)
	wrongKey := bytes.Repeat([]byte{7}, 32)

	tests := []struct {
		name string
		path string
		key  []byte
		want error
	}{
		{"missing", filepath.Join(dir, "none.json"), key, vault.ErrKeysetMissing},
		{"corrupt", corrupt, key, vault.ErrKeysetCorrupt},
		{"garbage", garbage, key, vault.ErrKeysetCorrupt},
		{"wrong master key", path, wrongKey, vault.ErrMasterKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := vault.Open(tt.path, master(t, tt.key))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := vault.MasterFromKey([]byte("short")); err == nil {
		t.Error("short master key accepted")
	}
	if err := vault.Generate(path, master(t, key)); !errors.Is(err, vault.ErrKeysetExists) {
		t.Errorf("Generate over an existing file: %v", err)
	}
	if _, err := vault.MasterFromKMS(t.Context(), "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k"); err == nil || !strings.Contains(err.Error(), "no KMS client registered for gcp-kms") {
		t.Errorf("KMS without a client: %v", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := master(t, key)
	before := open(t, path, key)
	ad := vault.NewAD("guardian", "name", "1")
	oldCT, _ := before.EncryptPersonal("鈴木 一郎", ad)
	oldID, _ := vault.KeyIDOf(oldCT)

	newID, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatal("rotation kept the key ID")
	}
	after := open(t, path, key)
	newCT, _ := after.EncryptPersonal("鈴木 一郎", ad)
	if id, _ := vault.KeyIDOf(newCT); id != newID || after.PrimaryKeyID() != newID {
		t.Fatalf("new ciphertext key = %d, want %d", id, newID)
	}
	if got, err := after.DecryptPersonal(oldCT, ad); err != nil || got != "鈴木 一郎" {
		t.Fatalf("old ciphertext after rotation: %q %v", got.Reveal(), err)
	}
	// An instance opened before the rotation reads the new ciphertext by reloading.
	if got, err := before.DecryptPersonal(newCT, ad); err != nil || got != "鈴木 一郎" {
		t.Fatalf("stale instance: %q %v", got.Reveal(), err)
	}
	st, err := vault.Status(path, m)
	if err != nil || len(st) != 2 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// Retire refuses the primary and a key still in use, then removes the old key.
	if err := vault.Retire(path, m, newID, func(uint32) (int64, error) { return 0, nil }); err == nil {
		t.Error("retired the primary key")
	}
	if err := vault.Retire(path, m, oldID, func(uint32) (int64, error) { return 3, nil }); err == nil || !strings.Contains(err.Error(), "3 rows") {
		t.Errorf("retired a key in use: %v", err)
	}
	if err := vault.Retire(path, m, oldID, func(uint32) (int64, error) { return 0, nil }); err != nil {
		t.Fatal(err)
	}
	retired := open(t, path, key)
	if _, err := retired.DecryptPersonal(oldCT, ad); !errors.Is(err, vault.ErrDecrypt) {
		t.Errorf("retired key still decrypts: %v", err)
	}
	if got, err := retired.DecryptPersonal(newCT, ad); err != nil || got != "鈴木 一郎" {
		t.Errorf("current key after retire: %v", err)
	}
}

func TestConcurrentUseDuringRotation(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := master(t, key)
	v := open(t, path, key)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				ad := vault.NewAD("t", "c", fmt.Sprint(g, i))
				ct, err := v.EncryptPersonal("値", ad)
				if err != nil {
					errs <- err
					return
				}
				if p, err := v.DecryptPersonal(ct, ad); err != nil || p != "値" {
					errs <- fmt.Errorf("decrypt: %v", err)
					return
				}
			}
		}(g)
	}
	for i := 0; i < 3; i++ {
		if _, err := vault.Rotate(path, m); err != nil {
			t.Fatal(err)
		}
		if err := v.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPersonalIsRedacted(t *testing.T) {
	t.Parallel()
	p := vault.Personal("山田花子")
	type wrapper struct{ Name vault.Personal }
	outputs := map[string]string{}
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d", "%10s", "%-5v", "%T"} {
		outputs[verb] = fmt.Sprintf(verb, p)
		outputs["struct "+verb] = fmt.Sprintf(verb, wrapper{p})
	}
	outputs["Sprint"] = fmt.Sprint(p)
	outputs["Sprintln"] = fmt.Sprintln(p)
	outputs["String"] = p.String()
	j, _ := json.Marshal(wrapper{p})
	outputs["json"] = string(j)
	var jb, tb bytes.Buffer
	slog.New(slog.NewJSONHandler(&jb, nil)).Info("x", "name", p, "w", wrapper{p})
	slog.New(slog.NewTextHandler(&tb, nil)).Info("x", "name", p)
	outputs["slog json"] = jb.String()
	outputs["slog text"] = tb.String()
	for where, out := range outputs {
		if strings.Contains(out, "山田") || strings.Contains(out, "5c71") || strings.Contains(out, "e5b1") {
			t.Errorf("%s leaks the value: %s", where, out)
		}
	}
	if p.Reveal() != "山田花子" {
		t.Error("Reveal lost the value")
	}
}
