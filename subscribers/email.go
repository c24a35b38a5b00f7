package subscribers

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-co-op/gocron/v2"
	"golang.org/x/net/idna"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/store"
)

// The problems an address can have, as AddressError.Problem names them.
const (
	ProblemEmpty = "empty"
	// ProblemLineBreak: a line break or another control character, the
	// way header injection is attempted.
	ProblemLineBreak = "line_break"
	// ProblemSeveral: more than one address.
	ProblemSeveral = "several"
	ProblemTooLong = "too_long"
	ProblemInvalid = "invalid"
)

// AddressError is an address a reader typed that cannot be used; nothing
// is sent to it. The web and the bot show readers an Arabic message chosen
// by Problem.
type AddressError struct {
	Problem string
}

func (e *AddressError) Error() string { return "email address: " + e.Problem }

// AddressProblem returns Problem, so that callers can tell an
// AddressError without importing this package.
func (e *AddressError) AddressProblem() string { return e.Problem }

// NormalizeAddress checks an address a reader typed and returns it as it
// will be mailed: one bare address, no display name, no line break or
// other control character, an ASCII local part, and an internationalised
// domain (an Arabic one too) in its ASCII form.
func NormalizeAddress(s string) (string, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) {
		return "", &AddressError{ProblemLineBreak}
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", &AddressError{ProblemEmpty}
	case strings.Count(s, "@") > 1 || strings.ContainsAny(s, ",;") ||
		len(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) })) > 1:
		return "", &AddressError{ProblemSeveral}
	case len(s) > 254:
		return "", &AddressError{ProblemTooLong}
	}
	at := strings.LastIndexByte(s, '@')
	// Bytes that are not UTF-8 would reach the domain as U+FFFD, a
	// domain nobody has.
	if at <= 0 || at == len(s)-1 || !utf8.ValidString(s) {
		return "", &AddressError{ProblemInvalid}
	}
	local, domain := s[:at], s[at+1:]
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || len(local) > 64 || !strings.Contains(ascii, ".") {
		return "", &AddressError{ProblemInvalid}
	}
	for _, r := range local {
		if r > unicode.MaxASCII || r == '"' || r == '\\' {
			return "", &AddressError{ProblemInvalid}
		}
	}
	addr := local + "@" + ascii
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return "", &AddressError{ProblemInvalid}
	}
	return addr, nil
}

// RequestSignup starts the double opt-in for address with sections (all
// when empty), as from asked: it queues a confirmation mail whose link
// expires, or, for an address already subscribed, a notice with its
// preference link; when the address had its share of mails, nothing. It
// answers the same whichever it was, so that nobody learns whether an
// address is subscribed; an unusable address is an *AddressError and
// nothing is queued. A requester who asked too often lately gets
// ErrTooManySignups, from the web form and the bot alike: the budget is
// kept in the store, per Telegram user or client network, for every
// instance.
func (s *Service) RequestSignup(ctx context.Context, from Requester, address string, sections []string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	budget := store.Budget{Key: from.Key(), Limit: s.cfg.SignupsPerIP, Window: s.cfg.RequesterWindow.D()}
	if from.Telegram() {
		budget.Limit = s.cfg.SignupsPerUser
	}
	id, outcome, err := s.st.RequestEmailSignup(ctx, store.SignupRequest{Address: addr, Sections: s.choice(sections), Now: s.now(),
		Limit: s.cfg.SignupsPerAddress, Window: s.cfg.SignupWindow.D(), Interval: s.cfg.SignupInterval.D(), Budget: budget})
	if err != nil {
		return err
	}
	switch outcome {
	case store.SignupThrottled:
		s.log.Warn("subscribers: signups from one requester are over the limit; nothing sent", "requester", from.Key(),
			"limit", budget.Limit, "window", budget.Window)
		return ErrTooManySignups
	case store.SignupLimited:
		s.log.Warn("subscribers: signup mails to this address are over the limit; nothing sent", "subscriber_id", id,
			"limit", s.cfg.SignupsPerAddress, "window", s.cfg.SignupWindow.D())
	default:
		s.log.Info("subscribers: signup requested", "subscriber_id", id, "notice", outcome == store.SignupNotice)
		s.queued()
	}
	return nil
}

// choice is how a subscriber's choice of sections is kept: the configured
// sections among chosen, or nil when that is every section, so that
// "every section" keeps including those added later.
func (s *Service) choice(chosen []string) []string {
	slugs := s.sections.Among(chosen)
	if len(slugs) == len(s.sections.Sections()) {
		return nil
	}
	return slugs
}

// EmailSubscriber returns one email subscriber, or store.ErrNotFound.
func (s *Service) EmailSubscriber(ctx context.Context, id int64) (nashra.EmailSubscriber, error) {
	return s.st.EmailSubscriber(ctx, id)
}

// ConfirmEmail makes a pending subscriber active and returns the
// subscriber as it stands: confirming twice is harmless, and one who left
// meanwhile stays out.
func (s *Service) ConfirmEmail(ctx context.Context, id int64) (nashra.EmailSubscriber, error) {
	return s.st.ConfirmEmailSubscriber(ctx, id, s.now())
}

// SetEmailPreferences saves a subscribed reader's sections and pause and
// returns the subscriber as it stands; a subscriber who is not subscribed
// is left alone.
func (s *Service) SetEmailPreferences(ctx context.Context, id int64, sections []string, paused bool) (nashra.EmailSubscriber, error) {
	return s.st.SetEmailPreferences(ctx, id, s.choice(sections), paused, s.now())
}

// UnsubscribeEmail unsubscribes a reader at once; no mail still waiting
// for them goes out.
func (s *Service) UnsubscribeEmail(ctx context.Context, id int64) (nashra.EmailSubscriber, error) {
	return s.st.UnsubscribeEmail(ctx, id, s.now())
}

// ForgetUnconfirmed forgets the signups still unconfirmed after the
// configured time (email.forget_after, 7 days), with their mails, and
// returns how many.
func (s *Service) ForgetUnconfirmed(ctx context.Context) (int, error) {
	n, err := s.st.ForgetUnconfirmedEmails(ctx, s.now().Add(-s.cfg.ForgetAfter.D()))
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.log.Info("subscribers: unconfirmed signups forgotten", "count", n, "after", s.cfg.ForgetAfter.D())
	}
	return n, nil
}

// Register adds to sched the hourly forgetting of unconfirmed signups.
func (s *Service) Register(sched gocron.Scheduler) error {
	if _, err := sched.NewJob(gocron.DurationJob(time.Hour),
		gocron.NewTask(func(ctx context.Context) {
			if _, err := s.ForgetUnconfirmed(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("subscribers: forget unconfirmed signups", "err", err)
			}
		}),
		gocron.WithName("forget unconfirmed signups"),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
	); err != nil {
		return fmt.Errorf("register forgetting of unconfirmed signups: %w", err)
	}
	return nil
}

// AfterBounce is the state of an email subscriber in state after one more
// permanent refusal of their address, bounces counting the refusals
// before it: at threshold refusals in all, a subscriber who could still
// be mailed is marked bounced and never mailed again; one who left stays
// as they are. A mail that goes through starts the count afresh.
func AfterBounce(bounces int, state nashra.EmailState, threshold int) nashra.EmailState {
	switch state {
	case nashra.EmailPending, nashra.EmailActive, nashra.EmailPaused:
		if bounces+1 >= threshold {
			return nashra.EmailBounced
		}
	}
	return state
}

// Mailable reports whether a mail of kind may go to an email subscriber
// in state ("" once forgotten): the digest to a confirmed reader who did
// not pause it, a confirmation while the address waits for it, a notice
// to any confirmed reader; nothing to one who left or bounced.
func Mailable(kind nashra.SendKind, state nashra.EmailState) bool {
	switch kind {
	case nashra.SendDigest:
		return state == nashra.EmailActive
	case nashra.SendConfirm:
		return state == nashra.EmailPending
	case nashra.SendNotice:
		return state.Subscribed()
	}
	return false
}
