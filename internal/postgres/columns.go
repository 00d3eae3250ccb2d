package postgres

import "github.com/renraku/renraku/internal/vault"

// EncryptedColumns lists every column that holds vault ciphertext, with how its
// associated data is formed, for re-encryption after a key rotation and for
// `renraku keys status`. A store that adds an encrypted column adds it here (and a
// seeder in internal/app's TestKeyRotationCoversEveryEncryptedColumn, which fails
// until it has one; TestEveryEncColumnIsListed fails for a column named *_enc that is
// not listed). ID is the table's primary key column when it is not "id".
var EncryptedColumns = []vault.Column{
	{Table: "line_channel", Column: "secret_enc", ADColumn: "secret", RowExpr: "line_channel_id"},
	{Table: "line_channel", Column: "token_enc", ADColumn: "token", RowExpr: "line_channel_id"},
	{Table: "line_friend", Column: "user_id_enc", ADColumn: "user_id"},
	{Table: "line_event", Column: "payload_enc", ADColumn: "payload", RowExpr: "channel_id::text || '/' || webhook_event_id"},
	{Table: "line_outbound", Column: "messages_enc", ADColumn: "messages"},
	{Table: "line_outbound", Column: "reply_token_enc", ADColumn: "reply_token"},
	{Table: "staff", Column: "login_enc", ADColumn: "login"},
	{Table: "staff", Column: "name_enc", ADColumn: "name"},
	{Table: "staff", Column: "totp_secret_enc", ADColumn: "totp_secret"},
	{Table: "staff", Column: "totp_pending_enc", ADColumn: "totp_pending"},
	{Table: "guardian", Column: "name_enc", ADColumn: "name"},
	{Table: "guardian", Column: "relationship_enc", ADColumn: "relationship"},
	{Table: "guardian", Column: "nickname_enc", ADColumn: "nickname"},
	{Table: "child", Column: "name_enc", ADColumn: "name"},
	{Table: "class_code", Column: "code_enc", ADColumn: "code", ID: "class_id"},
	{Table: "absence_report", Column: "detail_enc", ADColumn: "detail"},
	{Table: "message", Column: "body_enc", ADColumn: "body"},
	{Table: "message", Column: "content_enc", ADColumn: "content"},
	cannedTitleColumn,
	cannedBodyColumn,
	{Table: "announcement", Column: "title_enc", ADColumn: "title"},
	{Table: "announcement", Column: "body_enc", ADColumn: "body"},
	{Table: "handout", Column: "name_enc", ADColumn: "name"},
	{Table: "survey", Column: "title_enc", ADColumn: "title"},
	{Table: "survey", Column: "body_enc", ADColumn: "body"},
	{Table: "survey", Column: "questions_enc", ADColumn: "questions"},
	{Table: "survey_handout", Column: "name_enc", ADColumn: "name"},
	{Table: "survey_unit", Column: "answers_enc", ADColumn: "answers"},
	{Table: "survey_unit", Column: "draft_enc", ADColumn: "draft"},
	{Table: "file_blob", Column: "data_enc", ADColumn: "data", RowExpr: "key"},
	pushEndpointColumn,
	pushKeysColumn,
	vapidPrivateColumn,
}
