package digest

import (
	"context"
	"fmt"
	"time"

	"github.com/almaalouma/nashra"
)

// Mailer sends the send log's mails; *mail.Sender implements it.
type Mailer interface {
	// SendUntil sends until done reports that what the caller waits for
	// is sent; it fails when the mail server refused the sender (the send
	// is paused) or when ctx ends.
	SendUntil(ctx context.Context, done func(ctx context.Context) (bool, error)) error
}

// SendNow builds the digest of at's local day if it has none yet — at
// any hour, the cut-off does not apply — and has m send its mails until
// none is left, then returns the day's digest. It fails when the mail
// server refused the sender (the send is paused) or when ctx ends.
func (s *Service) SendNow(ctx context.Context, at time.Time, m Mailer) (nashra.Digest, error) {
	d, _, err := s.Build(ctx, s.digestAt(at))
	if err != nil || d.State != nashra.DigestSending {
		return d, err
	}
	err = m.SendUntil(ctx, func(ctx context.Context) (bool, error) {
		if err := s.finish(ctx, s.now()); err != nil {
			return false, err
		}
		var err error
		d, err = s.st.Digest(ctx, d.Day)
		return d.State == nashra.DigestSent, err
	})
	if err != nil {
		return d, fmt.Errorf("digest %s: %w", d.Day, err)
	}
	return d, nil
}
