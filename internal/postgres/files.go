package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/renraku/renraku/internal/vault"
)

// FileStore implements files.Store in the file_blob table, encrypted.
type FileStore struct {
	Pool  *pgxpool.Pool
	Vault *vault.Vault
}

func fileAD(key string) vault.AD { return vault.NewAD("file_blob", "data", key) }

// Put stores a file (replacing one with the same key).
func (s *FileStore) Put(ctx context.Context, key string, data []byte) error {
	enc, err := s.Vault.EncryptBytes(data, fileAD(key))
	if err != nil {
		return err
	}
	_, err = s.Pool.Exec(ctx, `INSERT INTO file_blob (key, data_enc) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET data_enc = EXCLUDED.data_enc`, key, enc)
	return classify(err, "put file")
}

// Get reads a file.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, error) {
	var enc []byte
	if err := s.Pool.QueryRow(ctx, `SELECT data_enc FROM file_blob WHERE key = $1`, key).Scan(&enc); err != nil {
		return nil, classify(err, "file")
	}
	return s.Vault.DecryptBytes(enc, fileAD(key))
}

// Delete removes a file.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM file_blob WHERE key = $1`, key)
	return classify(err, "delete file")
}
