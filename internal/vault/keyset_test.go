package vault_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/renraku/renraku/internal/vault"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// rewriteEnvelope decodes a keyset file's JSON, lets edit change it, and writes the
// result to a new file, returning its path.
func rewriteEnvelope(t *testing.T, path string, edit func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	edit(env)
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "edited.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flipInBase64 flips one bit in the middle of a base64 field.
func flipInBase64(t *testing.T, s any) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s.(string))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	return base64.StdEncoding.EncodeToString(raw)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keyset.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenRefusesUnusableKeysets(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := bytes.Repeat([]byte{7}, 32)
	v1 := rewriteEnvelope(t, path, func(env map[string]any) {
		env["version"] = 1
		delete(env, "master_check")
	})

	tests := []struct {
		name    string
		path    string
		master  vault.Master
		want    error
		mention string // the setting the message must name
	}{
		{"missing file", filepath.Join(t.TempDir(), "none.json"), MustMaster(t, key), vault.ErrKeysetMissing, "RENRAKU_KEYSET_FILE"},
		{"empty file", writeFile(t, ""), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"not json", writeFile(t, "not json at all"), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"other json", writeFile(t, `{"format":"something else","version":1}`), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"truncated", writeFile(t, string(good[:len(good)/2])), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"no version", rewriteEnvelope(t, path, func(env map[string]any) { delete(env, "version") }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"newer version", rewriteEnvelope(t, path, func(env map[string]any) { env["version"] = 99 }), MustMaster(t, key), vault.ErrKeysetVersion, "RENRAKU_KEYSET_FILE"},
		{"aead keyset damaged", rewriteEnvelope(t, path, func(env map[string]any) { env["aead"] = flipInBase64(t, env["aead"]) }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"prf keyset damaged", rewriteEnvelope(t, path, func(env map[string]any) { env["prf"] = flipInBase64(t, env["prf"]) }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"keysets swapped", rewriteEnvelope(t, path, func(env map[string]any) { env["aead"], env["prf"] = env["prf"], env["aead"] }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"keyset not base64", rewriteEnvelope(t, path, func(env map[string]any) { env["aead"] = "%%%" }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"master check removed", rewriteEnvelope(t, path, func(env map[string]any) { delete(env, "master_check") }), MustMaster(t, key), vault.ErrKeysetCorrupt, "RENRAKU_KEYSET_FILE"},
		{"wrong master key", path, MustMaster(t, wrongKey), vault.ErrMasterKey, "RENRAKU_MASTER_KEY"},
		{"wrong master key, version 1 file", v1, MustMaster(t, wrongKey), vault.ErrMasterKey, "RENRAKU_MASTER_KEY"},
		{"no master", path, vault.Master{}, vault.ErrNoMaster, "RENRAKU_MASTER_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := vault.Open(tt.path, tt.master)
			if !errors.Is(err, tt.want) || v != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error does not name %s: %v", tt.mention, err)
			}
			// Every cause is told apart from every other.
			for _, other := range []error{vault.ErrKeysetMissing, vault.ErrKeysetCorrupt, vault.ErrKeysetVersion, vault.ErrMasterKey, vault.ErrNoMaster} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error also matches %v", other)
				}
			}
		})
	}

	t.Run("version 1 file still opens", func(t *testing.T) {
		t.Parallel()
		v := MustOpen(t, v1, key)
		ad := vault.NewAD("t", "c", "1")
		if got, err := v.DecryptPersonal(MustEncrypt(t, v, "値", ad), ad); err != nil || got.Reveal() != "値" {
			t.Fatalf("round trip on a version 1 keyset: %v", err)
		}
		// The next change rewrites it in the current version.
		if _, err := vault.Rotate(v1, MustMaster(t, key)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(v1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"version": 2`)) || !bytes.Contains(b, []byte(`"master_check"`)) {
			t.Fatalf("not upgraded: %s", b)
		}
	})
}

func TestMasterFromBase64(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	good := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"valid", good, false},
		{"valid with newline", good + "\n", false},
		{"empty", "", true},
		{"not base64", "!!!not-base64!!!", true},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))), true},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), true},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := vault.MasterFromBase64(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, vault.ErrMasterKeyFormat) || !strings.Contains(err.Error(), "RENRAKU_MASTER_KEY") {
				t.Errorf("err = %v, want ErrMasterKeyFormat naming RENRAKU_MASTER_KEY", err)
			}
			if tt.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Errorf("error repeats the key: %v", err)
			}
		})
	}
	// Same key, two routes: the decoded Master opens a keyset made with the raw one.
	path := filepath.Join(t.TempDir(), "k.json")
	if err := vault.Generate(path, MustMaster(t, key)); err != nil {
		t.Fatal(err)
	}
	m, err := vault.MasterFromBase64(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Open(path, m); err != nil {
		t.Fatal(err)
	}
}

func TestKeysetFileIsPrivateAndAtomic(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := MustMaster(t, key)
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode = %v, want 0600", when, fi.Mode().Perm())
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if diff := cmp.Diff([]string{filepath.Base(path)}, names); diff != "" {
			t.Errorf("%s: folder holds more than the keyset (-want +got):\n%s", when, diff)
		}
	}
	check("after Generate")
	newID, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	check("after Rotate")
	st := MustStatus(t, path, m)
	for _, k := range st {
		if k.ID != newID {
			if err := vault.Retire(path, m, k.ID, func(uint32) (int64, error) { return 0, nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("after Retire")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range [][]byte{key, []byte(base64.StdEncoding.EncodeToString(key))} {
		if bytes.Contains(b, leak) {
			t.Error("keyset file contains the master key")
		}
	}
}

func TestGenerateRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		master vault.Master
	}{
		{"same master", MustMaster(t, key)},
		{"other master", MustMaster(t, bytes.Repeat([]byte{1}, 32))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := vault.Generate(path, tt.master); !errors.Is(err, vault.ErrKeysetExists) {
				t.Fatalf("err = %v, want ErrKeysetExists", err)
			}
		})
	}
	t.Cleanup(func() {
		after, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(before, after) {
			t.Errorf("the existing keyset was changed (%v)", err)
		}
	})
	if err := vault.Generate(filepath.Join(t.TempDir(), "k.json"), vault.Master{}); !errors.Is(err, vault.ErrNoMaster) {
		t.Errorf("Generate without a master: %v", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := MustMaster(t, key)
	before := MustOpen(t, path, key)
	vault.SetFileCheckInterval(before, 0) // only reload-on-unknown-key may help it
	ad := vault.NewADForID("guardian", "name", 1)
	oldCT := MustEncrypt(t, before, "鈴木 一郎", ad)
	oldID := MustKeyID(t, oldCT)
	indexBefore, err := before.BlindIndex("line.user_id", "U1")
	if err != nil {
		t.Fatal(err)
	}

	newID, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID {
		t.Fatal("rotation kept the key ID")
	}
	after := MustOpen(t, path, key)
	newCT := MustEncrypt(t, after, "鈴木 一郎", ad)
	if id := MustKeyID(t, newCT); id != newID || after.PrimaryKeyID() != newID {
		t.Fatalf("new ciphertext key = %d, primary %d; want %d", id, after.PrimaryKeyID(), newID)
	}
	st, err := vault.Status(path, m)
	if err != nil {
		t.Fatal(err)
	}
	want := []vault.KeyInfo{{ID: newID, Primary: true, Status: "enabled"}, {ID: oldID, Status: "enabled"}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Fatalf("Status (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		v    *vault.Vault
		ct   []byte
	}{
		{"old ciphertext, new instance", after, oldCT},
		{"new ciphertext, new instance", after, newCT},
		{"old ciphertext, instance opened before rotation", before, oldCT},
		// The stale instance does not know newID: it reloads on meeting it.
		{"new ciphertext, instance opened before rotation", before, newCT},
	}
	for _, tt := range tests {
		// Not parallel: the last case must be the stale instance's first sight of newID.
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.DecryptPersonal(tt.ct, ad)
			if err != nil || got.Reveal() != "鈴木 一郎" {
				t.Fatalf("got %q, %v", got.Reveal(), err)
			}
		})
	}
	if before.PrimaryKeyID() != newID {
		t.Error("the stale instance's reload did not bring the new primary")
	}
	indexAfter, err := after.BlindIndex("line.user_id", "U1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indexBefore, indexAfter) {
		t.Error("rotation changed the blind index")
	}
}

func TestRetire(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := MustMaster(t, key)
	v := MustOpen(t, path, key)
	ad := vault.NewAD("guardian", "name", "1")
	oldCT := MustEncrypt(t, v, "佐藤", ad)
	oldID := v.PrimaryKeyID()
	newID, err := vault.Rotate(path, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Reload(); err != nil {
		t.Fatal(err)
	}
	newCT := MustEncrypt(t, v, "佐藤", ad)

	zero := func(uint32) (int64, error) { return 0, nil }
	refusals := []struct {
		name  string
		keyID uint32
		inUse func(uint32) (int64, error)
		want  string
	}{
		{"primary key", newID, zero, "primary"},
		{"unknown key", 12345, zero, "not in the keyset"},
		{"rows still use it", oldID, func(uint32) (int64, error) { return 3, nil }, "3 rows"},
		{"count fails", oldID, func(uint32) (int64, error) { return 0, errors.New("db down") }, "db down"},
		{"no counter", oldID, nil, "count"},
	}
	for _, tt := range refusals {
		// Not parallel: each case checks that the shared keyset file stayed as it was.
		t.Run(tt.name, func(t *testing.T) {
			err := vault.Retire(path, m, tt.keyID, tt.inUse)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			if st := MustStatus(t, path, m); len(st) != 2 {
				t.Fatalf("a refused Retire changed the keyset: %+v", st)
			}
		})
	}
	if err := vault.Retire(path, m, oldID, func(uint32) (int64, error) { return 1, nil }); !errors.Is(err, vault.ErrKeyInUse) {
		t.Errorf("in use: err = %v, want ErrKeyInUse", err)
	}

	var asked []uint32
	if err := vault.Retire(path, m, oldID, func(id uint32) (int64, error) { asked = append(asked, id); return 0, nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint32{oldID}, asked); diff != "" {
		t.Errorf("inUse asked about (-want +got):\n%s", diff)
	}
	st := MustStatus(t, path, m)
	if diff := cmp.Diff([]vault.KeyInfo{{ID: newID, Primary: true, Status: "enabled"}}, st); diff != "" {
		t.Errorf("Status after Retire (-want +got):\n%s", diff)
	}
	retired := MustOpen(t, path, key)
	if _, err := retired.DecryptPersonal(oldCT, ad); !errors.Is(err, vault.ErrDecrypt) || !strings.Contains(err.Error(), "not in the keyset") {
		t.Errorf("retired key still decrypts: %v", err)
	}
	if got, err := retired.DecryptPersonal(newCT, ad); err != nil || got.Reveal() != "佐藤" {
		t.Errorf("current key after Retire: %v", err)
	}
}

func TestConcurrentRotationsKeepEveryKey(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := MustMaster(t, key)
	const n = 6
	ids := make(chan uint32, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			id, err := vault.Rotate(path, m)
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	st, err := vault.Status(path, m)
	if err != nil {
		t.Fatal(err)
	}
	var have []uint32
	for _, k := range st {
		have = append(have, k.ID)
	}
	for id := range ids {
		if !slices.Contains(have, id) {
			t.Errorf("key %d from a concurrent rotation was lost", id)
		}
	}
	if len(st) != n+1 {
		t.Errorf("keyset has %d keys, want %d", len(st), n+1)
	}
}

func TestReloadIfChanged(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	v := MustOpen(t, path, key)
	vault.SetFileCheckInterval(v, 0)
	if changed, err := v.ReloadIfChanged(); err != nil || changed {
		t.Fatalf("unchanged file: changed %t, %v", changed, err)
	}
	newID, err := vault.Rotate(path, MustMaster(t, key))
	if err != nil {
		t.Fatal(err)
	}
	if v.PrimaryKeyID() == newID {
		t.Fatal("picked up the rotation without being asked")
	}
	if changed, err := v.ReloadIfChanged(); err != nil || !changed || v.PrimaryKeyID() != newID {
		t.Fatalf("after rotation: changed %t, %v, primary %d want %d", changed, err, v.PrimaryKeyID(), newID)
	}
	if changed, err := v.ReloadIfChanged(); err != nil || changed {
		t.Fatalf("reloaded twice for one change: changed %t, %v", changed, err)
	}

	// A damaged file is reported, and the keys loaded before stay in use.
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.ReloadIfChanged(); !errors.Is(err, vault.ErrKeysetCorrupt) {
		t.Fatalf("damaged file: %v", err)
	}
	ad := vault.NewAD("t", "c", "1")
	if got, err := v.DecryptPersonal(MustEncrypt(t, v, "値", ad), ad); err != nil || got.Reveal() != "値" {
		t.Fatalf("keys lost after a failed reload: %v", err)
	}
}

func TestVaultChecksItsFilePeriodically(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	v := MustOpen(t, path, key)
	vault.SetFileCheckInterval(v, time.Millisecond)
	newID, err := vault.Rotate(path, MustMaster(t, key))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Encrypting is all it takes: no explicit reload.
		id := MustKeyID(t, MustEncrypt(t, v, "x", vault.NewAD("t", "c", "1")))
		if id == newID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still encrypting under key %d, want %d", id, newID)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestConcurrentUseDuringRotation runs readers and writers on two instances while a
// third party rotates the keyset: one instance reloads explicitly, the other only
// through reload-on-unknown-key. Run with -race.
func TestConcurrentUseDuringRotation(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	m := MustMaster(t, key)
	a, b := MustOpen(t, path, key), MustOpen(t, path, key)
	vault.SetFileCheckInterval(b, 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			writer, reader := a, b
			if g%2 == 1 {
				writer, reader = b, a
			}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ad := vault.NewADForID("message", "body", int64(g*1_000_000+i))
				ct, err := writer.EncryptPersonal("連絡帳", ad)
				if err != nil {
					t.Error(err)
					return
				}
				if p, err := reader.DecryptPersonal(ct, ad); err != nil || p.Reveal() != "連絡帳" {
					t.Errorf("decrypt on the other instance: %v", err)
					return
				}
				if _, err := reader.BlindIndex("line.user_id", "U1"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 5 {
		if _, err := vault.Rotate(path, m); err != nil {
			t.Fatal(err)
		}
		if err := a.Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

func TestUnknownKeyReloadIsRateLimited(t *testing.T) {
	t.Parallel()
	path, key := vaulttest.Keyset(t)
	v := MustOpen(t, path, key)
	vault.SetFileCheckInterval(v, 0)
	ad := vault.NewAD("t", "c", "1")
	ct := MustEncrypt(t, v, "x", ad)
	ct[4] ^= 0xff // a key ID the keyset does not have
	before := vault.Loads(v)
	for range 200 {
		if _, err := v.DecryptPersonal(ct, ad); !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	}
	// At most one forced reload per second while the file does not change.
	if n := vault.Loads(v) - before; n > 2 {
		t.Fatalf("%d reloads for 200 garbage ciphertexts", n)
	}
}
