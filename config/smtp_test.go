package config

import "testing"

func TestParseSMTP(t *testing.T) {
	for raw, want := range map[string]SMTP{
		"smtp://mail.example.org":                        {Host: "mail.example.org", Port: "25"},
		"smtp://u:p%40ss@mail.example.org?starttls=true": {Host: "mail.example.org", Port: "587", StartTLS: true, User: "u", Password: "p@ss"},
		"smtps://mail.example.org":                       {Host: "mail.example.org", Port: "465", ImplicitTLS: true},
		"smtp://127.0.0.1:1025":                          {Host: "127.0.0.1", Port: "1025"},
	} {
		got, err := ParseSMTP(raw)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"http://x", "smtp://", "smtp://x?starttls=maybe"} {
		if _, err := ParseSMTP(raw); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}
