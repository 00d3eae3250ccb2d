// Package files keeps documents (handouts) behind one interface: encrypted in
// PostgreSQL by default, so a board needs no extra service, or in a directory (a local
// disk or a mounted S3-compatible bucket). Either way the bytes are encrypted by the
// vault before they leave the process.
package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/renraku/renraku/internal/apperr"
	"github.com/renraku/renraku/internal/vault"
)

// Store keeps files by key.
type Store interface {
	Put(ctx context.Context, key string, data []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

var keyPattern = regexp.MustCompile(`^[a-z0-9/_-]{8,100}$`)

// NewKey returns a fresh random key under prefix ("handout").
func NewKey(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + "/" + hex.EncodeToString(b)
}

func ad(key string) vault.AD { return vault.NewAD("file_blob", "data", key) }

// Dir keeps files encrypted in a directory, one file per key.
type Dir struct {
	Root  string
	Vault *vault.Vault
}

func (d Dir) path(key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", fmt.Errorf("files: bad key")
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put writes a file atomically (a temporary file renamed into place).
func (d Dir) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	enc, err := d.Vault.EncryptBytes(data, ad(key))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(enc); err != nil {
		tmp.Close()
		return fmt.Errorf("files: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("files: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	return nil
}

// Get reads and decrypts a file.
func (d Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	enc, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, apperr.E(apperr.NotFound, "error.not_found.title", err)
	}
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	return d.Vault.DecryptBytes(enc, ad(key))
}

// Delete removes a file; a missing one is not an error.
func (d Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("files: %w", err)
	}
	return nil
}
