package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"time"
)

// Action is what a link mailed to an email subscriber lets its reader do
// without logging in.
type Action byte

// The actions of mailed links. The values are part of every token ever
// sent: never renumber them.
const (
	// ActionConfirm confirms a signup; its links expire.
	ActionConfirm Action = 1
	// ActionPreferences opens the preference center.
	ActionPreferences Action = 2
	// ActionUnsubscribe unsubscribes (a GET shows a button, a POST acts).
	ActionUnsubscribe Action = 3
)

// Path is where nashra serves the action: the token goes in its query
// string as t. The digest's links and the web pages both use it.
func (a Action) Path() string {
	switch a {
	case ActionConfirm:
		return "/email/confirm"
	case ActionPreferences:
		return "/email/preferences"
	case ActionUnsubscribe:
		return "/email/unsubscribe"
	}
	return "/email"
}

// ErrTokenExpired is returned for a well-signed token whose time is up.
var ErrTokenExpired = errors.New("action token expired")

// Action token layout, before base64url without padding:
//
//	action     1 byte
//	subscriber uvarint
//	expires    uvarint, Unix seconds; 0 never
//	mac        first 10 bytes of HMAC-SHA256(action key, everything before)
const (
	actionMacLen   = 10
	maxActionBytes = 1 + 2*binary.MaxVarintLen64 + actionMacLen
)

// ActionSigner signs and checks the tokens of mailed links (confirm,
// preferences, unsubscribe) with a key derived from nashra's secret, apart
// from the tracked links' key.
type ActionSigner struct {
	key []byte
}

// NewActionSigner returns a signer for secret (NASHRA_SECRET, or the one
// generated once and kept in the store).
func NewActionSigner(secret []byte) (*ActionSigner, error) {
	if len(secret) == 0 {
		return nil, errors.New("action tokens: empty secret")
	}
	return &ActionSigner{key: DeriveKey(secret, "nashra email action v1")}, nil
}

// Sign returns the token allowing action on the email subscriber
// subscriberID until expires (the zero time: for good).
func (s *ActionSigner) Sign(action Action, subscriberID int64, expires time.Time) string {
	b := make([]byte, 1, maxActionBytes)
	b[0] = byte(action)
	b = binary.AppendUvarint(b, uint64(subscriberID))
	var exp uint64
	if !expires.IsZero() {
		exp = uint64(max(expires.Unix(), 1))
	}
	b = binary.AppendUvarint(b, exp)
	b = append(b, s.mac(b)...)
	return tokenEncoding.EncodeToString(b)
}

// Verify returns the subscriber a token allows action on: ErrBadToken when
// nashra did not sign it for that action, ErrTokenExpired when its time is
// up at now.
func (s *ActionSigner) Verify(token string, action Action, now time.Time) (int64, error) {
	if len(token) < 4 || len(token) > tokenEncoding.EncodedLen(maxActionBytes) {
		return 0, ErrBadToken
	}
	var buf [maxActionBytes]byte
	n, err := tokenEncoding.Decode(buf[:], []byte(token))
	if err != nil || n <= actionMacLen+1 {
		return 0, ErrBadToken
	}
	body, sum := buf[:n-actionMacLen], buf[n-actionMacLen:n]
	if !hmac.Equal(sum, s.mac(body)) || Action(body[0]) != action {
		return 0, ErrBadToken
	}
	rest := body[1:]
	id, k := binary.Uvarint(rest)
	if k <= 0 || id == 0 || id > 1<<62 {
		return 0, ErrBadToken
	}
	rest = rest[k:]
	exp, k := binary.Uvarint(rest)
	if k <= 0 || k != len(rest) || exp > 1<<62 {
		return 0, ErrBadToken
	}
	if exp != 0 && now.Unix() >= int64(exp) {
		return 0, ErrTokenExpired
	}
	return int64(id), nil
}

func (s *ActionSigner) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:actionMacLen]
}
