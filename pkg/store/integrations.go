package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/minimost/minimost/pkg/chat"
)

// MarkBot makes the account that holds name a bot account: it signs in only with tokens.
func (s *Store) MarkBot(ctx context.Context, name string) error {
	res, err := s.auth.W.ExecContext(ctx, "UPDATE users SET bot = 1, password_hash = '' WHERE username = ?", name)
	if err != nil {
		return fmt.Errorf("store: mark bot: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such user %q", name)
	}
	s.invalidateUsers()
	return nil
}

// CreateToken stores a personal access token (by the hash of its secret) of account a.
func (s *Store) CreateToken(ctx context.Context, t chat.Token, tokenHash string) error {
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO access_tokens(id, token_hash, user_id, username, name, created_ts, expires_ts)
		SELECT ?, ?, id, username, ?, ?, ? FROM users WHERE id = ? AND username = ?`,
		t.ID, tokenHash, t.Name, t.CreatedTS, t.ExpiresTS, t.UserID, t.Username)
	if err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	return nil
}

// LookupToken returns the account of a live token (by the hash of its secret) and the token's
// id. A token of a deleted account, even one deleted by hand, is EUnauthorized. Its
// last_used_ts is brought up to date at most once a minute.
func (s *Store) LookupToken(ctx context.Context, tokenHash string) (chat.Account, string, error) {
	var a chat.Account
	var id string
	var expires, used int64
	now := s.Now().Unix()
	err := s.auth.R.QueryRowContext(ctx, `SELECT u.id, u.username, t.id, t.expires_ts, t.last_used_ts FROM access_tokens t
		JOIN users u ON u.id = t.user_id AND u.username = t.username WHERE t.token_hash = ?`, tokenHash).Scan(&a.ID, &a.Name, &id, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && expires != 0 && expires <= now {
		return chat.Account{}, "", chat.Errorf(chat.EUnauthorized, "invalid, expired or revoked access token")
	}
	if err != nil {
		return chat.Account{}, "", fmt.Errorf("store: look up token: %w", err)
	}
	if now-used >= 60 {
		if _, err := s.auth.W.ExecContext(ctx, "UPDATE access_tokens SET last_used_ts = ? WHERE id = ?", now, id); err != nil {
			return a, id, fmt.Errorf("store: touch token: %w", err)
		}
	}
	return a, id, nil
}

// ListTokens lists the tokens of the account that holds name, or every token for "".
func (s *Store) ListTokens(ctx context.Context, name string) ([]chat.Token, error) {
	rows, err := s.auth.R.QueryContext(ctx, `SELECT id, name, user_id, username, created_ts, expires_ts, last_used_ts
		FROM access_tokens WHERE ? = '' OR username = ? ORDER BY username, created_ts, id`, name, name)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	out := []chat.Token{}
	for rows.Next() {
		var t chat.Token
		if err := rows.Scan(&t.ID, &t.Name, &t.UserID, &t.Username, &t.CreatedTS, &t.ExpiresTS, &t.LastUsedTS); err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes token id (of the account that holds owner, unless owner is "") and
// returns it with the hash of its secret, so its connections can be closed.
func (s *Store) RevokeToken(ctx context.Context, id, owner string) (chat.Token, string, error) {
	var t chat.Token
	var hash string
	err := s.auth.W.QueryRowContext(ctx, `DELETE FROM access_tokens WHERE id = ? AND (? = '' OR username = ?)
		RETURNING id, name, user_id, username, created_ts, expires_ts, token_hash`, id, owner, owner).
		Scan(&t.ID, &t.Name, &t.UserID, &t.Username, &t.CreatedTS, &t.ExpiresTS, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return t, "", chat.Errorf(chat.ENotFound, "no such token %q", id)
	}
	if err != nil {
		return t, "", fmt.Errorf("store: revoke token: %w", err)
	}
	return t, hash, nil
}

// CreateIncomingWebhook stores a hook by the hash of its secret.
func (s *Store) CreateIncomingWebhook(ctx context.Context, h chat.IncomingWebhook, secretHash string) error {
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO incoming_webhooks(id, secret_hash, channels, username, icon_url, creator_id, creator, created_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, h.ID, secretHash, strings.Join(h.Channels, " "), h.Username, h.IconURL, h.CreatorID, h.CreatorName, h.CreatedTS)
	if err != nil {
		return fmt.Errorf("store: create webhook: %w", err)
	}
	return nil
}

const hookCols = "id, channels, username, icon_url, creator_id, creator, created_ts"

func scanHook(sc interface{ Scan(...any) error }) (chat.IncomingWebhook, error) {
	var h chat.IncomingWebhook
	var chans string
	err := sc.Scan(&h.ID, &chans, &h.Username, &h.IconURL, &h.CreatorID, &h.CreatorName, &h.CreatedTS)
	h.Channels = strings.Fields(chans)
	return h, err
}

// IncomingWebhookBySecret returns the hook whose secret has hash secretHash.
func (s *Store) IncomingWebhookBySecret(ctx context.Context, secretHash string) (chat.IncomingWebhook, error) {
	h, err := scanHook(s.auth.R.QueryRowContext(ctx, "SELECT "+hookCols+" FROM incoming_webhooks WHERE secret_hash = ?", secretHash))
	if errors.Is(err, sql.ErrNoRows) {
		return h, chat.Errorf(chat.ENotFound, "no such webhook")
	}
	if err != nil {
		return h, fmt.Errorf("store: webhook: %w", err)
	}
	return h, nil
}

// IncomingWebhooks lists the hooks that may post to conversation (every hook for "").
func (s *Store) IncomingWebhooks(ctx context.Context, conversation string) ([]chat.IncomingWebhook, error) {
	rows, err := s.auth.R.QueryContext(ctx, "SELECT "+hookCols+" FROM incoming_webhooks ORDER BY created_ts, id")
	if err != nil {
		return nil, fmt.Errorf("store: list webhooks: %w", err)
	}
	defer rows.Close()
	out := []chat.IncomingWebhook{}
	for rows.Next() {
		h, err := scanHook(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhooks: %w", err)
		}
		if conversation == "" || slices.Contains(h.Channels, conversation) {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// IncomingWebhook returns hook id.
func (s *Store) IncomingWebhook(ctx context.Context, id string) (chat.IncomingWebhook, error) {
	h, err := scanHook(s.auth.R.QueryRowContext(ctx, "SELECT "+hookCols+" FROM incoming_webhooks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, chat.Errorf(chat.ENotFound, "no such webhook %q", id)
	}
	if err != nil {
		return h, fmt.Errorf("store: webhook: %w", err)
	}
	return h, nil
}

// RotateIncomingWebhook replaces hook id's secret: the old URL stops working at once.
func (s *Store) RotateIncomingWebhook(ctx context.Context, id, secretHash string) error {
	res, err := s.auth.W.ExecContext(ctx, "UPDATE incoming_webhooks SET secret_hash = ? WHERE id = ?", secretHash, id)
	if err != nil {
		return fmt.Errorf("store: rotate webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such webhook %q", id)
	}
	return nil
}

// DeleteIncomingWebhook removes hook id.
func (s *Store) DeleteIncomingWebhook(ctx context.Context, id string) error {
	return s.deleteRow(ctx, "DELETE FROM incoming_webhooks WHERE id = ?", id, "webhook")
}

func (s *Store) deleteRow(ctx context.Context, q, id, what string) error {
	res, err := s.auth.W.ExecContext(ctx, q, id)
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return chat.Errorf(chat.ENotFound, "no such %s %q", what, id)
	}
	return nil
}

// CreateOutgoingWebhook stores an outgoing webhook.
func (s *Store) CreateOutgoingWebhook(ctx context.Context, h chat.OutgoingWebhook) error {
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO outgoing_webhooks(id, channel, trigger_words, url, token, username, created_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, h.ID, h.Channel, strings.Join(h.TriggerWords, " "), h.URL, h.Token, h.Username, h.CreatedTS)
	if err != nil {
		return fmt.Errorf("store: create outgoing webhook: %w", err)
	}
	return nil
}

// OutgoingWebhooks lists the outgoing webhooks of conversation (all for "").
func (s *Store) OutgoingWebhooks(ctx context.Context, conversation string) ([]chat.OutgoingWebhook, error) {
	// Run for every message posted: prepared once.
	st, err := s.auth.readStmt(ctx, `SELECT id, channel, trigger_words, url, token, username, created_ts FROM outgoing_webhooks
		WHERE ? = '' OR channel = ? ORDER BY created_ts, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list outgoing webhooks: %w", err)
	}
	rows, err := st.QueryContext(ctx, conversation, conversation)
	if err != nil {
		return nil, fmt.Errorf("store: list outgoing webhooks: %w", err)
	}
	defer rows.Close()
	out := []chat.OutgoingWebhook{}
	for rows.Next() {
		var h chat.OutgoingWebhook
		var words string
		if err := rows.Scan(&h.ID, &h.Channel, &words, &h.URL, &h.Token, &h.Username, &h.CreatedTS); err != nil {
			return nil, fmt.Errorf("store: list outgoing webhooks: %w", err)
		}
		h.TriggerWords = strings.Fields(words)
		out = append(out, h)
	}
	return out, rows.Err()
}

// DeleteOutgoingWebhook removes outgoing webhook id.
func (s *Store) DeleteOutgoingWebhook(ctx context.Context, id string) error {
	return s.deleteRow(ctx, "DELETE FROM outgoing_webhooks WHERE id = ?", id, "outgoing webhook")
}

// CreateSlashCommand stores a slash command; its trigger must be free.
func (s *Store) CreateSlashCommand(ctx context.Context, c chat.SlashCommand) error {
	_, err := s.auth.W.ExecContext(ctx, `INSERT INTO slash_commands(trigger, url, token, description, hint, username, created_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Trigger, c.URL, c.Token, c.Description, c.Hint, c.Username, c.CreatedTS)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return chat.Errorf(chat.EConflict, "a command /%s exists already", c.Trigger)
		}
		return fmt.Errorf("store: create command: %w", err)
	}
	return nil
}

// SlashCommands lists the server's slash commands.
func (s *Store) SlashCommands(ctx context.Context) ([]chat.SlashCommand, error) {
	rows, err := s.auth.R.QueryContext(ctx, "SELECT trigger, url, token, description, hint, username, created_ts FROM slash_commands ORDER BY trigger")
	if err != nil {
		return nil, fmt.Errorf("store: list commands: %w", err)
	}
	defer rows.Close()
	out := []chat.SlashCommand{}
	for rows.Next() {
		var c chat.SlashCommand
		if err := rows.Scan(&c.Trigger, &c.URL, &c.Token, &c.Description, &c.Hint, &c.Username, &c.CreatedTS); err != nil {
			return nil, fmt.Errorf("store: list commands: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteSlashCommand removes the command with trigger.
func (s *Store) DeleteSlashCommand(ctx context.Context, trigger string) error {
	return s.deleteRow(ctx, "DELETE FROM slash_commands WHERE trigger = ?", trigger, "command")
}
