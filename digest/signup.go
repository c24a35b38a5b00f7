package digest

import (
	"context"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/almaalouma/nashra/store"
	"github.com/almaalouma/nashra/subscribers"
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
// subscribers.ErrTooManySignups, from the web form and the bot alike. It
// is the bot's and the web pages' EmailSignup.
func (s *Service) RequestSignup(ctx context.Context, from subscribers.Requester, address string, sections []string) error {
	addr, err := NormalizeAddress(address)
	if err != nil {
		return err
	}
	chosen := s.slugs(sections)
	if len(chosen) == len(s.sections) {
		chosen = nil // every section, including those added later
	}
	budget := store.Budget{Key: from.Key(), Limit: s.cfg.Email.SignupsPerIP, Window: s.cfg.Email.RequesterWindow.D()}
	if from.Telegram() {
		budget.Limit = s.cfg.Email.SignupsPerUser
	}
	id, outcome, err := s.st.RequestEmailSignup(ctx, store.SignupRequest{Address: addr, Sections: chosen, Now: s.now(),
		Limit: s.cfg.Email.SignupsPerAddress, Window: s.cfg.Email.SignupWindow.D(), Interval: s.cfg.Email.SignupInterval.D(), Budget: budget})
	if err != nil {
		return err
	}
	switch outcome {
	case store.SignupThrottled:
		s.log.Warn("digest: signups from one requester are over the limit; nothing sent", "requester", from.Key(),
			"limit", budget.Limit, "window", budget.Window)
		return subscribers.ErrTooManySignups
	case store.SignupLimited:
		s.log.Warn("digest: signup mails to this address are over the limit; nothing sent", "subscriber_id", id,
			"limit", s.cfg.Email.SignupsPerAddress, "window", s.cfg.Email.SignupWindow.D())
	default:
		s.log.Info("digest: signup requested", "subscriber_id", id, "notice", outcome == store.SignupNotice)
		s.notify()
	}
	return nil
}
