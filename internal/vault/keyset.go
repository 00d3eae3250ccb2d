package vault

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
)

// fileFormat is the keyset file, a small JSON envelope:
//
//	{
//	  "format": "renraku-keyset",
//	  "version": 2,
//	  "master_check": "<base64: master AEAD of a fixed text>",
//	  "aead": "<base64: Tink EncryptedKeyset, the AES-256-GCM keys>",
//	  "prf": "<base64: Tink EncryptedKeyset, the HMAC-SHA256 PRF key>"
//	}
//
// Each keyset is written by Tink under the master AEAD with associated data naming
// its purpose, so the two cannot be swapped. master_check (version 2) lets a wrong
// master key be told apart from a damaged file; version 1 files lack it and are still
// read, and the next Rotate or Retire rewrites them as version 2.
type fileFormat struct {
	Format      string `json:"format"`
	Version     int    `json:"version"`
	MasterCheck string `json:"master_check,omitempty"`
	AEAD        string `json:"aead"`
	PRF         string `json:"prf"`
}

const (
	formatName     = "renraku-keyset"
	formatVersion  = 2
	adAEADKeyset   = "renraku.keyset.aead.v1"
	adPRFKeyset    = "renraku.keyset.prf.v1"
	adMasterCheck  = "renraku.keyset.master-check.v1"
	masterCheckMsg = "renraku keyset master check"
)

// keys are the two decrypted keysets of a file.
type keys struct {
	aead *keyset.Handle
	prf  *keyset.Handle
}

// readKeys reads and decrypts the keyset file, telling a missing file, a damaged one,
// a newer format and a wrong master key apart.
func readKeys(path string, m Master) (keys, error) {
	if err := m.check(); err != nil {
		return keys{}, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return keys{}, fmt.Errorf("%w: %s", ErrKeysetMissing, path)
	}
	if err != nil {
		return keys{}, fmt.Errorf("vault: read keyset file (RENRAKU_KEYSET_FILE): %w", err)
	}
	corrupt := func(why string) (keys, error) {
		return keys{}, fmt.Errorf("%w: %s: %s", ErrKeysetCorrupt, path, why)
	}
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil || f.Format != formatName {
		return corrupt("not a renraku keyset envelope")
	}
	switch {
	case f.Version > formatVersion:
		return keys{}, fmt.Errorf("%w: %s has version %d, this renraku reads up to %d", ErrKeysetVersion, path, f.Version, formatVersion)
	case f.Version < 1:
		return corrupt("no format version")
	}
	if f.Version >= 2 {
		ct, err := base64.StdEncoding.DecodeString(f.MasterCheck)
		if err != nil || len(ct) == 0 {
			return corrupt("master_check missing or not base64")
		}
		msg, err := m.aead.Decrypt(ct, []byte(adMasterCheck))
		if err != nil {
			return keys{}, fmt.Errorf("%w: %s", ErrMasterKey, path)
		}
		if subtle.ConstantTimeCompare(msg, []byte(masterCheckMsg)) != 1 {
			return corrupt("master_check does not match")
		}
	}
	// Once the master is known to be right, a keyset that does not decrypt is damage;
	// a version 1 file cannot tell the two apart.
	undecryptable := func(which string) (keys, error) {
		if f.Version >= 2 {
			return corrupt("the " + which + " keyset does not decrypt")
		}
		return keys{}, fmt.Errorf("%w (or the file is damaged): %s", ErrMasterKey, path)
	}
	var k keys
	for _, part := range []struct {
		name, text, ad string
		dst            **keyset.Handle
	}{
		{"aead", f.AEAD, adAEADKeyset, &k.aead},
		{"prf", f.PRF, adPRFKeyset, &k.prf},
	} {
		raw, err := base64.StdEncoding.DecodeString(part.text)
		if err != nil || len(raw) == 0 {
			return corrupt("the " + part.name + " keyset is missing or not base64")
		}
		h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(raw)), m.aead, []byte(part.ad))
		if err != nil {
			return undecryptable(part.name)
		}
		*part.dst = h
	}
	return k, nil
}

// encodeKeys builds the file's bytes.
func encodeKeys(m Master, k keys) ([]byte, error) {
	enc := func(h *keyset.Handle, ad string) (string, error) {
		var buf bytes.Buffer
		if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), m.aead, []byte(ad)); err != nil {
			return "", fmt.Errorf("vault: encrypt keyset: %w", err)
		}
		return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	}
	f := fileFormat{Format: formatName, Version: formatVersion}
	check, err := m.aead.Encrypt([]byte(masterCheckMsg), []byte(adMasterCheck))
	if err != nil {
		return nil, fmt.Errorf("vault: encrypt keyset: %w", err)
	}
	f.MasterCheck = base64.StdEncoding.EncodeToString(check)
	if f.AEAD, err = enc(k.aead, adAEADKeyset); err != nil {
		return nil, err
	}
	if f.PRF, err = enc(k.prf, adPRFKeyset); err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("vault: encode keyset: %w", err)
	}
	return append(body, '\n'), nil
}

// writeKeys replaces the keyset file atomically: a temporary file in the same folder
// (mode 0600 from creation, so the keys are never readable by others even briefly),
// fsync, rename, fsync of the folder. A crash leaves the old file or the new one,
// never half of one. The caller holds the folder's lock.
func writeKeys(path string, m Master, k keys, dir *dirLock) error {
	body, err := encodeKeys(m, k)
	if err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("vault: write keyset file: %w", err) }
	// A fixed temporary name is safe because writers hold the folder's lock; one left
	// by a crash is stale and goes.
	tmpPath := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	_ = os.Remove(tmpPath)
	tmp, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmpPath) // no-op after the rename
	// The umask can only narrow O_CREATE's mode; Chmod makes it exactly 0600.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fail(err)
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fail(err)
	}
	dir.sync()
	return nil
}

// Generate writes a new keyset file (one AES-256-GCM key, one HMAC-SHA256 PRF key)
// encrypted under m, with mode 0600. It refuses to overwrite an existing file
// (ErrKeysetExists): that would throw away the keys the database's data needs.
func Generate(path string, m Master) error {
	if err := m.check(); err != nil {
		return err
	}
	a, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("vault: new AEAD key: %w", err)
	}
	p, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return fmt.Errorf("vault: new PRF key: %w", err)
	}
	return withLock(path, func(dir *dirLock) error {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%w: %s", ErrKeysetExists, path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("vault: keyset file: %w", err)
		}
		return writeKeys(path, m, keys{aead: a, prf: p}, dir)
	})
}

// Rotate adds a new AES-256-GCM key to the keyset file and makes it primary; it
// returns the new key's ID. Old keys stay for decryption until Retire removes them.
// Rotations are serialised by a lock on the file's folder, so two operators rotating
// at once both get their key kept. The PRF key is not rotated: every blind index (and
// the audit chain's MACs) would have to be recomputed.
func Rotate(path string, m Master) (newKeyID uint32, err error) {
	err = withLock(path, func(dir *dirLock) error {
		k, err := readKeys(path, m)
		if err != nil {
			return err
		}
		mgr := keyset.NewManagerFromHandle(k.aead)
		id, err := mgr.Add(aead.AES256GCMKeyTemplate())
		if err != nil {
			return fmt.Errorf("vault: add key: %w", err)
		}
		if err := mgr.SetPrimary(id); err != nil {
			return fmt.Errorf("vault: set primary: %w", err)
		}
		if k.aead, err = mgr.Handle(); err != nil {
			return fmt.Errorf("vault: rotate: %w", err)
		}
		newKeyID = id
		return writeKeys(path, m, k, dir)
	})
	return newKeyID, err
}

// KeyInfo describes one AEAD key of the keyset.
type KeyInfo struct {
	ID      uint32
	Primary bool
	Status  string // "enabled", "disabled", "destroyed"
}

// Status lists the keyset's AEAD keys, primary first.
func Status(path string, m Master) ([]KeyInfo, error) {
	k, err := readKeys(path, m)
	if err != nil {
		return nil, err
	}
	return keyInfos(k.aead)
}

func keyInfos(h *keyset.Handle) ([]KeyInfo, error) {
	var out []KeyInfo
	for i := 0; i < h.Len(); i++ {
		e, err := h.Entry(i)
		if err != nil {
			return nil, fmt.Errorf("vault: keyset entry %d: %w", i, err)
		}
		ki := KeyInfo{ID: e.KeyID(), Primary: e.IsPrimary(), Status: strings.ToLower(e.KeyStatus().String())}
		if ki.Primary {
			out = append([]KeyInfo{ki}, out...)
		} else {
			out = append(out, ki)
		}
	}
	return out, nil
}

// Retire removes an old AEAD key from the keyset file: it disables and deletes it. It
// refuses the primary key, a key the keyset does not have, and any key for which
// inUse (normally RowsUsingKey over every encrypted column) reports rows, since those
// rows would become unreadable for ever. inUse runs while the keyset is locked, so no
// rotation can interleave. Retire a key only after every instance has picked up the
// rotation that replaced it (they check the file every few seconds; see Open).
func Retire(path string, m Master, keyID uint32, inUse func(keyID uint32) (int64, error)) error {
	if inUse == nil {
		return errors.New("vault: Retire needs a way to count the rows that use the key")
	}
	return withLock(path, func(dir *dirLock) error {
		k, err := readKeys(path, m)
		if err != nil {
			return err
		}
		infos, err := keyInfos(k.aead)
		if err != nil {
			return err
		}
		found := false
		for _, ki := range infos {
			if ki.ID == keyID {
				found = true
				if ki.Primary {
					return fmt.Errorf("vault: key %d is the primary key and cannot be retired; rotate first", keyID)
				}
			}
		}
		if !found {
			return fmt.Errorf("vault: key %d is not in the keyset", keyID)
		}
		n, err := inUse(keyID)
		if err != nil {
			return fmt.Errorf("vault: count rows under key %d: %w", keyID, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %d rows use key %d", ErrKeyInUse, n, keyID)
		}
		mgr := keyset.NewManagerFromHandle(k.aead)
		if err := mgr.Disable(keyID); err != nil {
			return fmt.Errorf("vault: retire key %d: %w", keyID, err)
		}
		if err := mgr.Delete(keyID); err != nil {
			return fmt.Errorf("vault: retire key %d: %w", keyID, err)
		}
		if k.aead, err = mgr.Handle(); err != nil {
			return fmt.Errorf("vault: retire key %d: %w", keyID, err)
		}
		return writeKeys(path, m, k, dir)
	})
}
