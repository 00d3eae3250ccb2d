package files_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/files"
	"github.com/renraku/renraku/internal/vault/vaulttest"
)

// TestDirKeepsFilesEncrypted: a file put in a directory reads back as written, is not
// in clear on disk, and is gone after Delete; keys cannot leave the directory.
func TestDirKeepsFilesEncrypted(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	d := files.Dir{Root: root, Vault: vaulttest.New(t)}
	ctx := context.Background()
	key := files.NewKey("handout")
	data := []byte("%PDF-1.4 学年だより %%EOF")
	if err := d.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	got, err := d.Get(ctx, key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %q %v", got, err)
	}
	raw, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("学年だより")) {
		t.Error("the file is in clear on disk")
	}
	if err := d.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, key); apperr.KindOf(err) != apperr.NotFound {
		t.Errorf("after delete: %v", err)
	}
	if err := d.Put(ctx, "../outside", data); err == nil {
		t.Error("a key leaving the directory was accepted")
	}
}
