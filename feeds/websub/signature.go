package websub

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
)

// method is a signature method of X-Hub-Signature.
type method struct {
	new  func() hash.Hash
	rank int // stronger is higher
}

// methods are those the WebSub recommendation names; sha1 is the weakest,
// taken only from a hub that never used another.
var methods = map[string]method{
	"sha1":   {sha1.New, 1},
	"sha256": {sha256.New, 2},
	"sha384": {sha512.New384, 3},
	"sha512": {sha512.New, 4},
}

// Why a content distribution is refused.
var (
	errNoSignature  = errors.New("no X-Hub-Signature")
	errBadSignature = errors.New("signature does not match the body")
	errTooLarge     = errors.New("body too large")
)

// signature is a parsed X-Hub-Signature: "sha256=hex".
type signature struct {
	method string
	mac    []byte
}

// parseSignature reads an X-Hub-Signature header.
func parseSignature(h string) (signature, error) {
	if h == "" {
		return signature{}, errNoSignature
	}
	name, value, ok := strings.Cut(strings.TrimSpace(h), "=")
	name = strings.ToLower(name)
	m, known := methods[name]
	if !ok || !known {
		return signature{}, fmt.Errorf("%w: unknown method %.20q", errBadSignature, name)
	}
	mac, err := hex.DecodeString(value)
	if err != nil || len(mac) != m.new().Size() {
		return signature{}, fmt.Errorf("%w: malformed %s value", errBadSignature, name)
	}
	return signature{method: name, mac: mac}, nil
}

// verify reads body, at most limit bytes, through the HMAC of secret and
// compares it with the signature in constant time. The body is never
// held in memory: a feed pushed whole costs no more than a small one.
func (s signature) verify(body io.Reader, secret string, limit int64) error {
	m := hmac.New(methods[s.method].new, []byte(secret))
	n, err := io.Copy(m, io.LimitReader(body, limit+1))
	if err != nil {
		// The web server's own cap on the route.
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			return errTooLarge
		}
		return fmt.Errorf("read body: %w", err)
	}
	if n > limit {
		return errTooLarge
	}
	if !hmac.Equal(m.Sum(nil), s.mac) {
		return errBadSignature
	}
	return nil
}

// digest names the body a valid signature was for, to recognise a replay:
// the HMAC is unique to the body and the subscription's secret.
func (s signature) digest() string { return s.method + ":" + hex.EncodeToString(s.mac[:16]) }
