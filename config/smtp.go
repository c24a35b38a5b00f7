package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// SMTP is the mail server NASHRA_SMTP_URL names, parsed and checked once
// by Load; the zero value is none, and mails are then written as .eml
// files (see MailDir).
type SMTP struct {
	Host string
	// Port is the URL's, else the scheme's: 465 for smtps, 587 with
	// STARTTLS, 25 otherwise.
	Port string
	// ImplicitTLS is smtps://: TLS from the first byte. StartTLS is
	// smtp://…?starttls=true, which fails rather than send in clear.
	ImplicitTLS, StartTLS bool
	User, Password        string
}

// Addr is host:port.
func (s SMTP) Addr() string { return net.JoinHostPort(s.Host, s.Port) }

// Set reports whether a server is configured.
func (s SMTP) Set() bool { return s.Host != "" }

// ParseSMTP takes apart smtp://user:pass@host:port (?starttls=true) or
// smtps://…. Its errors never quote the URL, which holds the password.
func ParseSMTP(raw string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return SMTP{}, errors.New("want smtp://user:pass@host:port (?starttls=true) or smtps://…")
	}
	s := SMTP{Host: u.Hostname(), ImplicitTLS: u.Scheme == "smtps", Port: u.Port()}
	switch v := u.Query().Get("starttls"); v {
	case "", "false":
	case "true":
		s.StartTLS = !s.ImplicitTLS
	default:
		return SMTP{}, fmt.Errorf("starttls: want true or false, got %q", v)
	}
	if s.Port == "" {
		s.Port = "25"
		switch {
		case s.ImplicitTLS:
			s.Port = "465"
		case s.StartTLS:
			s.Port = "587"
		}
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}
