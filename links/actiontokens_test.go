package links

import (
	"errors"
	"testing"
	"time"
)

func TestActionTokens(t *testing.T) {
	s, err := NewActionSigner([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewActionSigner([]byte("another secret"))
	now := time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)
	confirm := s.Sign(ActionConfirm, 42, now.Add(48*time.Hour))
	forever := s.Sign(ActionUnsubscribe, 42, time.Time{})

	for _, tc := range []struct {
		name   string
		signer *ActionSigner
		token  string
		action Action
		at     time.Time
		id     int64
		err    error
	}{
		{"valid confirmation", s, confirm, ActionConfirm, now, 42, nil},
		{"just before expiry", s, confirm, ActionConfirm, now.Add(48*time.Hour - time.Second), 42, nil},
		{"expired", s, confirm, ActionConfirm, now.Add(48 * time.Hour), 0, ErrTokenExpired},
		{"other action", s, confirm, ActionUnsubscribe, now, 0, ErrBadToken},
		{"other key", other, confirm, ActionConfirm, now, 0, ErrBadToken},
		{"never expires", s, forever, ActionUnsubscribe, now.AddDate(20, 0, 0), 42, nil},
		{"truncated", s, forever[:len(forever)-2], ActionUnsubscribe, now, 0, ErrBadToken},
		{"empty", s, "", ActionUnsubscribe, now, 0, ErrBadToken},
		{"not base64", s, "!!!!!!!!", ActionUnsubscribe, now, 0, ErrBadToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := tc.signer.Verify(tc.token, tc.action, tc.at)
			if id != tc.id || !errors.Is(err, tc.err) {
				t.Fatalf("got %d, %v; want %d, %v", id, err, tc.id, tc.err)
			}
		})
	}
	// Every single changed character is refused.
	for i := range forever {
		b := []byte(forever)
		b[i] ^= 1
		if id, err := s.Verify(string(b), ActionUnsubscribe, now); err == nil {
			t.Fatalf("tampered token %q accepted for %d", b, id)
		}
	}
	if _, err := NewActionSigner(nil); err == nil {
		t.Fatal("an empty secret was accepted")
	}
}
