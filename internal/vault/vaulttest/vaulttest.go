// Package vaulttest makes throwaway keysets for tests.
package vaulttest

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/renraku/renraku/internal/vault"
)

// Keyset writes a new keyset file in the test's temporary folder and returns its path
// and the master key that unlocks it.
func Keyset(t testing.TB) (path string, masterKey []byte) {
	t.Helper()
	masterKey = make([]byte, 32)
	if _, err := rand.Read(masterKey); err != nil {
		t.Fatal(err)
	}
	m, err := vault.MasterFromKey(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "keyset.json")
	if err := vault.Generate(path, m); err != nil {
		t.Fatal(err)
	}
	return path, masterKey
}

// New returns a Vault on a new keyset.
func New(t testing.TB) *vault.Vault {
	t.Helper()
	path, key := Keyset(t)
	m, err := vault.MasterFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(path, m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
