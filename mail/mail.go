// Package mail is the SMTP sender: it sends the send log's mails on the
// outbox engine — claimed under the email queue's lease, paced, their
// outcomes batched — through a pool of SMTP connections, or as .eml files
// when no server is configured. It reads the server's answers (sent,
// retry, bounce, the sender refused, the server away), pauses the whole
// send behind a circuit breaker when the server refuses the sender, and
// probes it again after a cool-down. What a mail says is composed
// elsewhere (Composer), at send time.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
)

// Message is one composed mail.
type Message struct {
	// From and To are the envelope's sender and its one recipient.
	From string
	To   string
	Raw  []byte
	// Name is unique per send-log row and the same on every attempt: the
	// .eml file's name.
	Name string
}

// Composer composes the mail of a claimed row as it goes out;
// *digest.Service implements it.
type Composer interface {
	// Compose returns the mail of row sent at now; ok is false when there
	// is nothing to send (no new article in the reader's sections), and
	// the row is cancelled.
	Compose(ctx context.Context, row nashra.Send, now time.Time) (m Message, ok bool, err error)
}

// Store is what the sender needs of the store. *store.DB implements it;
// the methods and their errors are documented there.
type Store interface {
	// The send log and its claims.
	ClaimSends(ctx context.Context, medium nashra.SendMedium, holder string, limit int, now, leaseUntil time.Time,
		mailable func(nashra.SendKind, nashra.EmailState) bool) ([]nashra.Send, error)
	UpdateSends(ctx context.Context, holder string, updates []store.SendUpdate) error
	NextSendAt(ctx context.Context, medium nashra.SendMedium) (time.Time, error)
	OpenSends(ctx context.Context, medium nashra.SendMedium) (int, error)

	// The sender's lease, its queue's claims and the circuit breaker's
	// pause, kept like the delivery dispatcher's; and the admins' alerts.
	outbox.ClaimStore
	outbox.PauseStore
	RaiseAlert(ctx context.Context, a nashra.Alert) (bool, error)
}

// Deps are the parts the sender works with.
type Deps struct {
	Store    Store
	Composer Composer
	// Now is the clock (nil: time.Now); it must advance like real time.
	Now func() time.Time
	// Log may be nil to discard.
	Log *slog.Logger
	// Registerer gets the metrics; nil: not registered.
	Registerer prometheus.Registerer
	// TLS is the base TLS configuration for SMTP, such as a private CA's
	// roots; nil: the system's.
	TLS *tls.Config
	// Holder names this process in the sender's lease; empty: a new
	// outbox.NewHolder.
	Holder string
}

// Sender sends the mails: build it with New, run it with Run.
type Sender struct {
	cfg       config.Config
	st        Store
	composer  Composer
	now       func() time.Time
	log       *slog.Logger
	m         *metrics
	eng       *outbox.Engine
	gate      *outbox.Gate
	retry     outbox.Retry
	holder    string
	transport transport

	// wake tells the running sender that mails were queued; a pending
	// wake-up is enough, so it holds one.
	wake chan struct{}
}

// senderName is the subject of the sender's alerts: its lease's name.
const senderName = string(store.QueueEmail)

// New builds the sender, configured by cfg: the email section, the SMTP
// server and the lease. Its only I/O is, without SMTP, creating the
// folder of the .eml files.
func New(cfg *config.Config, deps Deps) (*Sender, error) {
	if deps.Store == nil || deps.Composer == nil {
		return nil, errors.New("mail: store and composer are required")
	}
	m, err := newMetrics(deps.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Sender{cfg: *cfg, st: deps.Store, composer: deps.Composer, now: deps.Now, log: deps.Log, m: m, wake: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.eng = outbox.NewEngine(deps.Store, store.QueueEmail, deps.Holder, cfg.LeaseDuration.D(), s.now, s.log, m.queue)
	s.eng.Lease().OnRenew(s.renewed)
	s.holder = s.eng.Lease().Holder()
	s.gate = outbox.NewGate(deps.Store, store.QueueEmail, s.now)
	s.retry = outbox.Retry{Max: cfg.Email.MaxAttempts, Base: cfg.Email.RetryBase.D(), Limit: cfg.Email.RetryMax.D()}
	if cfg.SMTP.Set() {
		s.transport = newSMTPTransport(cfg, deps.TLS)
	} else if s.transport, err = newFileTransport(cfg.MailDir()); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the SMTP connections.
func (s *Sender) Close() error { return s.transport.Close() }

// Notify wakes the running sender: mails were queued, such as a digest's
// or those a signup asks for.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
