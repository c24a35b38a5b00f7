package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/arabic"
	"github.com/almaalouma/nashra/outbox"
	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
)

// Run sends the queued mails while this instance holds the sender's lease
// (waiting for it while another does), until ctx ends. Then it lets the messages in
// flight finish (each bounded by SendTimeout), gives back what it had
// claimed and the lease, and returns nil.
func (s *Sender) Run(ctx context.Context) error {
	s.eng.Run(ctx, s.lead)
	return nil
}

// lead serves one term as the sender.
func (s *Sender) lead(ctx context.Context, t outbox.Term) {
	if t.Previous != s.holder {
		s.log.Info("mail: sending", "holder", s.holder, "previous", t.Previous)
	}
	s.sendEmails(ctx)
}

// renewed refreshes the gauge with every renewal of the lease.
func (s *Sender) renewed(ctx context.Context, _ store.Lease) {
	if n, err := s.st.OpenSends(ctx, nashra.SendEmail); err == nil {
		s.m.waiting.WithLabelValues(string(nashra.SendEmail)).Set(float64(n))
	}
}

// idle waits until the next due row of medium, a wake-up, or a second.
func (s *Sender) idle(ctx context.Context, medium nashra.SendMedium, wake <-chan struct{}) {
	wait := time.Second
	if next, err := s.st.NextSendAt(ctx, medium); err == nil && !next.IsZero() {
		wait = min(wait, max(next.Sub(s.now()), 10*time.Millisecond))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// verdict is what a send's outcome means.
type verdict int

const (
	sent verdict = iota
	// retry: a temporary failure (4xx, network): again after a backoff.
	retry
	// bounce: the server refused the address for good (5xx to RCPT TO).
	bounce
	// pause: the server refused the sender (5xx to AUTH, MAIL FROM or the
	// content, a relay refusal, TLS or AUTH missing): every message would
	// fail alike, so the whole send pauses.
	pause
	// unavailable: the server could not be reached, or was busy before the
	// transaction began: the message waits without an attempt counted, and
	// the sender waits too, longer each time.
	unavailable
)

// classify reads a delivery error of a mail of kind. A mail somebody asked
// for goes to the address they typed: any refusal once the recipient is
// named (at RCPT TO or after DATA), even a policy one, is that address's
// own, since whoever types addresses must not be able to pause the
// digest; only what fails before (TLS, AUTH, MAIL FROM) is the sender's.
func classify(err error, kind nashra.SendKind) verdict {
	var se *sendError
	switch {
	case err == nil:
		return sent
	case !errors.As(err, &se):
		return retry
	case se.code >= 500 && se.stage == "rcpt" && !policy(se.msg):
		return bounce
	case se.code >= 500 && asked(kind) && (se.stage == "rcpt" || se.stage == "data"):
		return bounce
	case se.code >= 500, se.code == 0 && (se.stage == "tls" || se.stage == "starttls" || se.stage == "auth"):
		return pause
	case se.stage == "connect":
		return unavailable
	}
	return retry
}

// asked reports whether mails of kind go out because somebody asked, to an
// address they typed — a confirmation, or the notice to an address already
// subscribed — rather than on nashra's own schedule to confirmed readers.
func asked(kind nashra.SendKind) bool { return kind == nashra.SendConfirm || kind == nashra.SendNotice }

// policy reports whether a refusal of a recipient is about the sender: a
// security or policy status (5.7.x, such as "5.7.1 Relaying denied").
func policy(msg string) bool {
	return strings.HasPrefix(msg, "5.7.") || strings.Contains(strings.ToLower(msg), "relay")
}

// breaker is what the sender knows of the server's health: the circuit
// breaker of one batch (once tripped, the messages not yet sent go back to
// the queue), refusals of recipients in a row, and an outage.
type breaker struct {
	tripped atomic.Bool
	// bounces counts 5xx answers to RCPT TO in a row for digests, whose
	// addresses were confirmed: many in a row mean the server refuses the
	// sender. askedBounces counts the refusals of mails somebody asked for
	// apart, and never trips the breaker: an outsider choosing addresses
	// that do not exist must not stop the digest.
	bounces      atomic.Int64
	askedBounces atomic.Int64
	// outages counts failed connections in a row; nothing is sent before
	// downUntil (Unix nanoseconds).
	outages   atomic.Int64
	downUntil atomic.Int64
}

// down reports whether the server is taken as unreachable for now.
func (b *breaker) down() time.Duration { return time.Until(time.Unix(0, b.downUntil.Load())) }

// mailer sends the mails of one term, paced, behind its circuit breaker.
type mailer struct {
	s *Sender
	p *outbox.Pacer
	b breaker
}

// Send sends one mail and returns what to record of it.
func (m *mailer) Send(ctx context.Context, row nashra.Send) store.SendUpdate {
	return m.s.sendOne(ctx, row, m.p, &m.b)
}

// sendEmails claims due mails and sends them with Concurrency workers.
func (s *Sender) sendEmails(ctx context.Context) {
	w := outbox.NewWriter(s.storeOutcomes, s.cfg.Email.Concurrency, s.log)
	defer w.Close()
	m := &mailer{s: s, p: outbox.NewPacer(s.cfg.Email.RatePerSecond)}
	jobs := make(chan nashra.Send)
	var workers sync.WaitGroup
	workers.Go(func() { outbox.Work(ctx, s.eng, s.cfg.Email.Concurrency, jobs, m, w, nil) })
	defer workers.Wait()
	defer close(jobs)
	s.eng.Poll(ctx, func(ctx context.Context) (bool, error) { return s.claimEmails(ctx, m, w, jobs) },
		func(ctx context.Context) { s.idle(ctx, nashra.SendEmail, s.wake) })
}

// claimEmails claims a batch of due mails, unless the send is paused or
// the server down, and hands them to the workers; it reports whether to
// look again at once.
func (s *Sender) claimEmails(ctx context.Context, m *mailer, w *outbox.Writer[store.SendUpdate], jobs chan<- nashra.Send) (bool, error) {
	paused, since, err := s.gate.Paused(ctx)
	if err != nil {
		return false, fmt.Errorf("read whether sending is paused: %w", err)
	}
	s.m.queue.SetPaused(paused)
	m.b.tripped.Store(false)
	if wait := m.b.down(); wait > 0 {
		outbox.Sleep(ctx, wait)
		return true, nil
	}
	if paused {
		if !s.probe(ctx, since, m, w) {
			outbox.Sleep(ctx, 5*time.Second)
		}
		return true, nil
	}
	now := s.now()
	rows, err := s.st.ClaimSends(ctx, nashra.SendEmail, s.holder, max(16, 4*s.cfg.Email.Concurrency), now, now.Add(s.cfg.LeaseDuration.D()), subscribers.Mailable)
	if err != nil {
		return false, err
	}
	for i, row := range rows {
		if m.b.tripped.Load() {
			w.Submit(store.SendUpdate{Op: store.SendOpRelease, IDs: ids(rows[i:])})
			break
		}
		select {
		case jobs <- row:
		case <-ctx.Done():
			return false, nil // still claimed: given back when the term ends
		}
	}
	return len(rows) > 0, nil
}

// probe sends one message while the send is paused, once the cool-down is
// over: when it goes through, sending resumes. It reports whether it tried.
func (s *Sender) probe(ctx context.Context, since time.Time, m *mailer, w *outbox.Writer[store.SendUpdate]) bool {
	if s.cfg.Email.PauseCooldown.D() == 0 || s.now().Sub(since) < s.cfg.Email.PauseCooldown.D() {
		return false
	}
	now := s.now()
	rows, err := s.st.ClaimSends(ctx, nashra.SendEmail, s.holder, 1, now, now.Add(s.cfg.LeaseDuration.D()), subscribers.Mailable)
	if err != nil || len(rows) == 0 {
		return false
	}
	u := m.Send(ctx, rows[0])
	w.Commit(u)
	if u.Op != store.SendOpRelease {
		if err := s.Resume(ctx); err != nil {
			s.log.Error("mail: cannot resume sending", "err", err)
		}
		s.log.Info("mail: the mail server takes mail again; sending resumed")
	}
	return true
}

// Resume lifts the circuit breaker's pause, as an admin does after fixing
// what made the server refuse the sender.
func (s *Sender) Resume(ctx context.Context) error {
	if err := s.gate.Resume(ctx); err != nil {
		return err
	}
	s.Notify()
	return nil
}

// Paused reports whether the circuit breaker paused the email send, and
// since when.
func (s *Sender) Paused(ctx context.Context) (bool, time.Time, error) { return s.gate.Paused(ctx) }

func ids(rows []nashra.Send) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// sendOne sends one mail and returns what to record. A send in flight at
// shutdown is finished, bounded by SendTimeout, rather than abandoned.
func (s *Sender) sendOne(ctx context.Context, row nashra.Send, p *outbox.Pacer, b *breaker) store.SendUpdate {
	log := s.log.With("send_id", row.ID, "subscriber_id", row.RecipientID, "kind", row.Kind, "digest_id", row.DigestID)
	one := []int64{row.ID}
	release := store.SendUpdate{Op: store.SendOpRelease, IDs: one}
	if b.tripped.Load() || b.down() > 0 {
		return release
	}
	now := s.now()
	if now.Sub(row.CreatedAt) > s.cfg.Email.StaleAfter.D() {
		s.m.messages.WithLabelValues("stale").Inc()
		log.Warn("mail: mail dropped as stale", "queued_at", row.CreatedAt)
		return store.SendUpdate{Op: store.SendOpStale, IDs: one}
	}
	m, ok, err := s.composer.Compose(ctx, row, now)
	if err != nil {
		return s.failed(log, row, retry, err)
	}
	if !ok {
		s.m.messages.WithLabelValues("cancelled").Inc()
		return store.SendUpdate{Op: store.SendOpCancel, IDs: one, ErrorKind: "nothing_new",
			Error: "nothing new in the reader's sections"}
	}
	if p.Wait(ctx) != nil {
		return release
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Email.SendTimeout.D())
	defer cancel()
	err = s.transport.send(sctx, m)
	v := classify(err, row.Kind)
	switch v {
	case sent:
		if asked(row.Kind) {
			b.askedBounces.Store(0)
		} else {
			b.bounces.Store(0)
		}
		b.outages.Store(0)
		s.m.messages.WithLabelValues("sent").Inc()
		return store.SendUpdate{Op: store.SendOpSent, IDs: one, At: s.now()}
	case unavailable:
		n := b.outages.Add(1)
		wait := outbox.Backoff(int(n), time.Second, time.Minute)
		b.downUntil.Store(time.Now().Add(wait).UnixNano())
		if n == 1 || n%10 == 0 {
			log.Warn("mail: the mail server is unreachable; waiting", "err", err, "wait", wait, "failures", n)
		}
		if n == 10 {
			s.alert(log, "email_unreachable", fmt.Sprintf("تعذّر الوصول إلى خادم البريد منذ دقائق، والرسائل تنتظر دون أن يضيع شيء منها: %s", err))
		}
		return release
	case bounce:
		if !asked(row.Kind) {
			if b.bounces.Add(1) >= int64(s.cfg.Email.BounceStorm) {
				v = pause // every address refused in a row: it is the sender
			}
		} else if n := b.askedBounces.Add(1); n%int64(s.cfg.Email.BounceStorm) == 0 {
			log.Warn("mail: many mails asked for were refused in a row: someone may be signing up addresses that do not exist",
				"in_a_row", n)
		}
	}
	if v == pause {
		s.tripBreaker(ctx, log, b, err)
		return store.SendUpdate{Op: store.SendOpRelease, IDs: one}
	}
	return s.failed(log, row, v, err)
}

// failed records a bounce, a retry or, after MaxAttempts, a dead message.
func (s *Sender) failed(log *slog.Logger, row nashra.Send, v verdict, err error) store.SendUpdate {
	one := []int64{row.ID}
	reason := err.Error()
	if v == bounce {
		s.m.messages.WithLabelValues("bounced").Inc()
		log.Warn("mail: address refused", "err", reason)
		return store.SendUpdate{Op: store.SendOpBounce, IDs: one, At: s.now(), ErrorKind: "bounce", Error: reason,
			Bounced: s.bounced}
	}
	attempt := row.Attempts + 1
	at, ok := s.retry.Next(attempt, s.now())
	if !ok {
		s.m.messages.WithLabelValues("dead").Inc()
		log.Error("mail: mail given up", "attempts", attempt, "err", reason)
		s.alert(log, "email_dead", fmt.Sprintf("رسائل بريدية تعذّر إرسالها نهائيًا بعد %s؛ آخر خطأ: %s", arabic.Count(attempt, attempts), reason))
		return store.SendUpdate{Op: store.SendOpDead, IDs: one, ErrorKind: "transient", Error: reason}
	}
	s.m.messages.WithLabelValues("retried").Inc()
	log.Info("mail: mail failed; will retry", "attempt", attempt, "retry_at", at, "err", reason)
	return store.SendUpdate{Op: store.SendOpRetry, IDs: one, At: at, ErrorKind: "transient", Error: reason}
}

// bounced is the bounce policy, subscribers.AfterBounce at the configured
// threshold.
func (s *Sender) bounced(bounces int, state nashra.EmailState) nashra.EmailState {
	return subscribers.AfterBounce(bounces, state, s.cfg.Email.BounceThreshold)
}

// attempts is the noun of the alert about dead mails, after "بعد".
var attempts = arabic.Noun{Zero: "أي محاولة", One: "محاولة واحدة", Two: "محاولتين", Few: "{n} محاولات", Many: "{n} محاولة", Other: "{n} محاولة"}

// tripBreaker pauses the whole send and alerts the admins, once per batch.
func (s *Sender) tripBreaker(ctx context.Context, log *slog.Logger, b *breaker, cause error) {
	if !b.tripped.CompareAndSwap(false, true) {
		return
	}
	s.m.messages.WithLabelValues("paused").Inc()
	s.m.queue.SetPaused(true)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	log.Error("mail: the mail server refused the sender: sending paused", "err", cause, "cooldown", s.cfg.Email.PauseCooldown.D())
	if err := s.gate.Pause(ctx); err != nil {
		log.Error("mail: cannot record the pause", "err", err)
	}
	s.alert(log, "email_paused", fmt.Sprintf("توقّف إرسال النشرة البريدية لأن خادم البريد رفض المُرسِل نفسه لا عناوين بعينها (%s)، "+
		"فلم يُعدّ أي عنوان مرتدًّا. راجع إعدادات SMTP ثم استأنف الإرسال بالأمر nashra digest resume.", cause))
}

// alert tells the admins, once while the alert is unsent.
func (s *Sender) alert(log *slog.Logger, kind, message string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.st.RaiseAlert(ctx, nashra.Alert{Kind: kind, Subject: senderName, Message: message, CreatedAt: s.now()}); err != nil {
		log.Error("mail: cannot raise an alert", "kind", kind, "err", err)
	}
}

// storeOutcomes writes a batch of outcomes in one transaction.
func (s *Sender) storeOutcomes(ctx context.Context, batch []store.SendUpdate) error {
	return s.st.UpdateSends(ctx, s.holder, merge(batch))
}

// merge turns a batch into updates, the sent ones as one: a statement per
// message is most of a commit's cost. They share the latest time, a few
// milliseconds off at most.
func merge(batch []store.SendUpdate) []store.SendUpdate {
	ups := make([]store.SendUpdate, 0, len(batch))
	sent := -1
	for _, u := range batch {
		switch {
		case u.Op != store.SendOpSent:
			ups = append(ups, u)
		case sent < 0:
			sent = len(ups)
			ups = append(ups, store.SendUpdate{Op: store.SendOpSent, IDs: slices.Clone(u.IDs), At: u.At})
		default:
			ups[sent].IDs = append(ups[sent].IDs, u.IDs...)
			ups[sent].At = outbox.Later(ups[sent].At, u.At)
		}
	}
	return ups
}

// ErrPaused is a send stopped because the mail server refused the sender.
var ErrPaused = errors.New("the mail server refused the sender; sending is paused")

// SendUntil runs the sender, as Run does, until done — asked every 50 ms —
// reports that what the caller waits for is sent. It fails with ErrPaused
// when the mail server refused the sender, with done's error, or with
// ctx's when ctx ends first.
func (s *Sender) SendUntil(ctx context.Context, done func(ctx context.Context) (bool, error)) error {
	run, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		s.Run(run)
		close(ran)
	}()
	defer func() {
		stop()
		<-ran
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if ok, err := done(ctx); err != nil || ok {
			return err
		}
		paused, _, err := s.Paused(ctx)
		if err != nil {
			return err
		}
		if paused {
			return ErrPaused
		}
	}
}
