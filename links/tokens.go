package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/almaalouma/nashra"
)

// mediumCodes number the media in tokens. The values are part of every
// token ever sent: never renumber them.
var mediumCodes = [...]nashra.Medium{1: nashra.MediumTelegram, 2: nashra.MediumChannel, 3: nashra.MediumEmail, 4: nashra.MediumWeb}

// code returns m's number in tokens, 0 for a medium that has none.
func code(m nashra.Medium) byte {
	for c, name := range mediumCodes {
		if name != "" && name == m {
			return byte(c)
		}
	}
	return 0
}

// medium returns the medium numbered c, "" when none is.
func medium(c byte) nashra.Medium {
	if int(c) >= len(mediumCodes) {
		return ""
	}
	return mediumCodes[c]
}

// Link is what a tracked link's token says: which article, shown where and,
// when it is personal, to whom (and for email, when).
type Link struct {
	ArticleID int64
	Medium    nashra.Medium
	// SubscriberID is the email subscriber the link was mailed to, 0 when
	// the link is not personal.
	SubscriberID int64
	// ChatID is the private Telegram chat the link was sent to, 0 for a
	// group or a channel: a reader's clicks then count once, however often
	// and from wherever they come.
	ChatID int64
	// SentAt is when the email carrying the link was composed, to second
	// precision; zero when unknown. Mail scanners open every link within
	// seconds of delivery, so clicks just after it are not counted.
	SentAt time.Time
}

// ErrBadToken is returned for a token nashra did not sign as it reads: a
// forgery, a typo, a truncation.
var ErrBadToken = errors.New("bad link token")

// Token layout, before base64url without padding:
//
//	flags   1 byte: bits 0–2 medium, bit 3 reader present, bit 4 sent-at
//	        present, bits 5–7 format version (0)
//	article uvarint
//	[reader uvarint: the email subscriber, or for medium telegram the
//	private chat] [sent-at uvarint, Unix seconds]
//	mac     first 8 bytes of HMAC-SHA256(token key, everything before)
//
// A Telegram link's token is 16 characters (23 at most for a private chat);
// an email link's about 30.
const (
	macLen        = 8 // 64 bits: forging one takes 2^63 tries on average
	flagSub       = 1 << 3
	flagSent      = 1 << 4
	flagVerMask   = 0b111 << 5
	mediumMask    = 0b111
	maxTokenBytes = 1 + 3*binary.MaxVarintLen64 + macLen
)

// Tokens are base64url without padding, strictly: a changed character that
// would decode to the same bytes is refused too.
var tokenEncoding = base64.RawURLEncoding.Strict()

// Signer signs and checks link tokens with a key derived from nashra's
// secret. Tokens never expire: a channel post stays readable for years, so
// changing the secret breaks every link already sent.
type Signer struct {
	key []byte
}

// NewSigner returns a signer for secret (NASHRA_SECRET, or the one
// generated once and kept in the store).
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) == 0 {
		return nil, errors.New("link tokens: empty secret")
	}
	return &Signer{key: DeriveKey(secret, "nashra link token v1")}, nil
}

// DeriveKey returns the key for one purpose derived from secret, so that
// link tokens, visitor hashes and webhook secrets never share a key.
func DeriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Sign returns l's token. It panics on a medium outside the four, or a
// chat with another medium than telegram, or both a subscriber and a chat:
// those are programming errors, and such a token could never be read back.
func (s *Signer) Sign(l Link) string {
	c := code(l.Medium)
	if c == 0 || l.ArticleID <= 0 || l.SubscriberID < 0 || l.ChatID < 0 ||
		l.ChatID != 0 && (l.Medium != nashra.MediumTelegram || l.SubscriberID != 0) {
		panic("link tokens: cannot sign an invalid link")
	}
	b := make([]byte, 1, maxTokenBytes)
	b[0] = c
	b = binary.AppendUvarint(b, uint64(l.ArticleID))
	if reader := max(l.SubscriberID, l.ChatID); reader != 0 {
		b[0] |= flagSub
		b = binary.AppendUvarint(b, uint64(reader))
	}
	if !l.SentAt.IsZero() && l.SentAt.Unix() > 0 {
		b[0] |= flagSent
		b = binary.AppendUvarint(b, uint64(l.SentAt.Unix()))
	}
	b = append(b, s.mac(b)...)
	return tokenEncoding.EncodeToString(b)
}

// Verify returns the link a token names, or ErrBadToken.
func (s *Signer) Verify(token string) (Link, error) {
	if len(token) < 4 || len(token) > tokenEncoding.EncodedLen(maxTokenBytes) {
		return Link{}, ErrBadToken
	}
	var buf [maxTokenBytes]byte
	n, err := tokenEncoding.Decode(buf[:], []byte(token))
	if err != nil || n <= macLen+1 {
		return Link{}, ErrBadToken
	}
	body, sum := buf[:n-macLen], buf[n-macLen:n]
	if !hmac.Equal(sum, s.mac(body)) {
		return Link{}, ErrBadToken
	}
	// Signed by us, so well formed unless the format changed: still check,
	// as a reader of an unknown future version must not guess.
	flags := body[0]
	l := Link{Medium: medium(flags & mediumMask)}
	if flags&flagVerMask != 0 || l.Medium == "" {
		return Link{}, ErrBadToken
	}
	rest := body[1:]
	next := func() (int64, bool) {
		v, k := binary.Uvarint(rest)
		if k <= 0 || v == 0 || v > 1<<62 {
			return 0, false
		}
		rest = rest[k:]
		return int64(v), true
	}
	var ok bool
	if l.ArticleID, ok = next(); !ok {
		return Link{}, ErrBadToken
	}
	if flags&flagSub != 0 {
		reader := &l.SubscriberID
		if l.Medium == nashra.MediumTelegram {
			reader = &l.ChatID
		}
		if *reader, ok = next(); !ok {
			return Link{}, ErrBadToken
		}
	}
	if flags&flagSent != 0 {
		sec, ok := next()
		if !ok {
			return Link{}, ErrBadToken
		}
		l.SentAt = time.Unix(sec, 0).UTC()
	}
	if len(rest) != 0 {
		return Link{}, ErrBadToken
	}
	return l, nil
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)[:macLen]
}
