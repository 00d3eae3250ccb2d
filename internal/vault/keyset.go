package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead"
	aeadsubtle "github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/core/registry"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/prf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Errors from opening a keyset. Each says what to fix; none repeats a key.
var (
	ErrKeysetMissing = errors.New("vault: keyset file not found (create one with `renraku keys generate --out FILE`)")
	ErrKeysetCorrupt = errors.New("vault: keyset file is not a renraku keyset")
	ErrMasterKey     = errors.New("vault: the master key does not unlock this keyset (wrong RENRAKU_MASTER_KEY or RENRAKU_KMS_KEY_URI?)")
	ErrKeysetExists  = errors.New("vault: keyset file already exists; refusing to overwrite it")
	ErrDecrypt       = errors.New("vault: cannot decrypt")
)

// Master unlocks the keyset file: a local key or a cloud KMS key.
type Master struct {
	aead tink.AEAD
}

// MasterFromKey uses a 32-byte key (RENRAKU_MASTER_KEY) with AES-256-GCM.
func MasterFromKey(key []byte) (Master, error) {
	if len(key) != 32 {
		return Master{}, fmt.Errorf("vault: RENRAKU_MASTER_KEY must be 32 bytes, got %d", len(key))
	}
	a, err := aeadsubtle.NewAESGCM(key)
	if err != nil {
		return Master{}, fmt.Errorf("vault: master key: %w", err)
	}
	return Master{aead: a}, nil
}

// MasterFromKMS uses a cloud KMS key through Tink's KMS client registry. A deployment
// that uses KMS links the client module for its cloud (for example
// github.com/tink-crypto/tink-go-gcpkms/v2 or tink-go-awskms/v2) and registers it with
// registry.RegisterKMSClient before start-up; renraku does not carry every cloud's SDK.
func MasterFromKMS(_ context.Context, uri string) (Master, error) {
	c, err := registry.GetKMSClient(uri)
	if err != nil {
		scheme, _, _ := strings.Cut(uri, "://")
		return Master{}, fmt.Errorf("vault: no KMS client registered for %s:// (RENRAKU_KMS_KEY_URI); see docs/OPERATIONS.md", scheme)
	}
	a, err := c.GetAEAD(uri)
	if err != nil {
		return Master{}, fmt.Errorf("vault: KMS key: %w", err)
	}
	return Master{aead: a}, nil
}

// fileFormat is the keyset file: two Tink keysets, each encrypted under the master with
// associated data naming its purpose.
type fileFormat struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	AEAD    string `json:"aead"`
	PRF     string `json:"prf"`
}

const (
	formatName   = "renraku-keyset"
	adAEADKeyset = "renraku.keyset.aead.v1"
	adPRFKeyset  = "renraku.keyset.prf.v1"
)

// keys are the two decrypted keysets.
type keys struct {
	aead *keyset.Handle
	prf  *keyset.Handle
}

func readKeys(path string, m Master) (keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return keys{}, ErrKeysetMissing
	}
	if err != nil {
		return keys{}, fmt.Errorf("vault: read keyset: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil || f.Format != formatName || f.Version != 1 {
		return keys{}, ErrKeysetCorrupt
	}
	a, err1 := base64.StdEncoding.DecodeString(f.AEAD)
	p, err2 := base64.StdEncoding.DecodeString(f.PRF)
	if err1 != nil || err2 != nil || len(a) == 0 || len(p) == 0 {
		return keys{}, ErrKeysetCorrupt
	}
	var k keys
	if k.aead, err = keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(a)), m.aead, []byte(adAEADKeyset)); err != nil {
		return keys{}, ErrMasterKey
	}
	if k.prf, err = keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(p)), m.aead, []byte(adPRFKeyset)); err != nil {
		return keys{}, ErrMasterKey
	}
	return k, nil
}

// writeKeys writes the keyset file atomically (temporary file, fsync, rename) with
// mode 0600.
func writeKeys(path string, m Master, k keys) error {
	enc := func(h *keyset.Handle, ad string) (string, error) {
		var buf bytes.Buffer
		if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), m.aead, []byte(ad)); err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	}
	a, err := enc(k.aead, adAEADKeyset)
	if err != nil {
		return fmt.Errorf("vault: encrypt keyset: %w", err)
	}
	p, err := enc(k.prf, adPRFKeyset)
	if err != nil {
		return fmt.Errorf("vault: encrypt keyset: %w", err)
	}
	body, _ := json.MarshalIndent(fileFormat{Format: formatName, Version: 1, AEAD: a, PRF: p}, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keyset-*")
	if err != nil {
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	if _, err := tmp.Write(append(body, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("vault: write keyset: %w", err)
	}
	return nil
}

// Generate writes a new keyset file (one AES-256-GCM key, one HMAC-SHA256 PRF key)
// encrypted under m. It refuses to overwrite an existing file.
func Generate(path string, m Master) error {
	if _, err := os.Stat(path); err == nil {
		return ErrKeysetExists
	}
	a, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return fmt.Errorf("vault: new key: %w", err)
	}
	p, err := keyset.NewHandle(prf.HMACSHA256PRFKeyTemplate())
	if err != nil {
		return fmt.Errorf("vault: new key: %w", err)
	}
	return writeKeys(path, m, keys{aead: a, prf: p})
}

// Rotate adds a new AES-256-GCM key to the keyset file and makes it primary. Old keys
// stay for decryption until Retire removes them.
func Rotate(path string, m Master) (uint32, error) {
	k, err := readKeys(path, m)
	if err != nil {
		return 0, err
	}
	mgr := keyset.NewManagerFromHandle(k.aead)
	id, err := mgr.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return 0, fmt.Errorf("vault: add key: %w", err)
	}
	if err := mgr.SetPrimary(id); err != nil {
		return 0, fmt.Errorf("vault: set primary: %w", err)
	}
	if k.aead, err = mgr.Handle(); err != nil {
		return 0, fmt.Errorf("vault: %w", err)
	}
	return id, writeKeys(path, m, k)
}

// KeyInfo describes one AEAD key of the keyset.
type KeyInfo struct {
	ID      uint32
	Primary bool
	Status  string
}

// Status lists the keyset's AEAD keys.
func Status(path string, m Master) ([]KeyInfo, error) {
	k, err := readKeys(path, m)
	if err != nil {
		return nil, err
	}
	info := k.aead.KeysetInfo()
	var out []KeyInfo
	for _, ki := range info.GetKeyInfo() {
		out = append(out, KeyInfo{ID: ki.GetKeyId(), Primary: ki.GetKeyId() == info.GetPrimaryKeyId(), Status: strings.ToLower(ki.GetStatus().String())})
	}
	return out, nil
}

// Retire removes an old key. It refuses the primary key, and any key that inUse says
// still encrypts rows (run the re-encryption first).
func Retire(path string, m Master, keyID uint32, inUse func(keyID uint32) (int64, error)) error {
	k, err := readKeys(path, m)
	if err != nil {
		return err
	}
	if k.aead.KeysetInfo().GetPrimaryKeyId() == keyID {
		return errors.New("vault: the primary key cannot be retired")
	}
	n, err := inUse(keyID)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("vault: %d rows still use key %d; wait for re-encryption (renraku keys status)", n, keyID)
	}
	mgr := keyset.NewManagerFromHandle(k.aead)
	if err := mgr.Disable(keyID); err != nil {
		return fmt.Errorf("vault: retire key %d: %w", keyID, err)
	}
	if err := mgr.Delete(keyID); err != nil {
		return fmt.Errorf("vault: retire key %d: %w", keyID, err)
	}
	if k.aead, err = mgr.Handle(); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return writeKeys(path, m, k)
}
