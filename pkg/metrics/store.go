package metrics

import (
	"context"
	"time"

	"github.com/minimost/minimost/pkg/app"
	"github.com/minimost/minimost/pkg/chat"
)

// Store is an app.Store that counts and times posts: PostMessage returns once the message is
// committed to the journal, which is when it is acknowledged to its sender.
type Store struct {
	app.Store
	M *Metrics
}

// PostMessage implements app.Journal.
func (s *Store) PostMessage(ctx context.Context, msg *chat.Message, recipients []string) error {
	start := time.Now()
	err := s.Store.PostMessage(ctx, msg, recipients)
	if err == nil {
		s.M.JournalCommit.Observe(time.Since(start).Seconds())
		s.M.MessagesPosted.Inc()
	}
	return err
}
