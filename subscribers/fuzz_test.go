package subscribers

import (
	"errors"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzNormalizeAddress feeds the parser of addresses readers type (the web
// form's and the bot's /email) anything: it never panics; it refuses with
// an *AddressError naming a known problem; and what it accepts is one bare
// ASCII address of at most 254 bytes, with no space, control character or
// second address, that net/mail reads as itself and that normalises to
// itself.
//
//	go test ./subscribers -run '^$' -fuzz FuzzNormalizeAddress -fuzztime 5m
func FuzzNormalizeAddress(f *testing.F) {
	for _, s := range []string{
		"reader@example.org", "  Reader.Name+news@Example.org ", "nobody0@victim.invalid", "victim39@example.org",
		"reader@مثال.عراق", "قارئ@مثال.عراق", "reader@xn--mgbh0fb.xn--mgbtx2b", "",
		"reader@example.org\r\nBcc: victim@example.org", "reader@example.org\n", "reader@example.org%0d%0abcc:x@y.z",
		"a@example.org, b@example.org", "a@example.org;b@example.org", "a@example.org b@example.org", "a@b@example.org",
		"Reader <reader@example.org>", "<reader@example.org>", `"quoted"@example.org`, `"a b"@example.org`,
		"reader@localhost", "@example.org", "reader@", "reader@.org", "reader@example..org", "reader@-example.org",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + ".org", strings.Repeat("a", 250) + "@example.org",
		"reader\u202e@example.org", "reader@example.org\u200f", "reader@exam\u0000ple.org", "reader@ex\tample.org",
		"reader@ＥＸＡＭＰＬＥ.org", "reader@example.org.", "(comment)reader@example.org", "reader@[127.0.0.1]",
		"=?utf-8?q?reader?=@example.org", "\xff@example.org",
	} {
		f.Add(s)
	}
	problems := []string{ProblemEmpty, ProblemLineBreak, ProblemSeveral, ProblemTooLong, ProblemInvalid}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeAddress(in)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) || !slices.Contains(problems, ae.Problem) || got != "" {
				t.Fatalf("NormalizeAddress(%q) = %q, %v", in, got, err)
			}
			return
		}
		switch {
		case len(got) == 0 || len(got) > 254:
			t.Fatalf("NormalizeAddress(%q) = %q: %d bytes", in, got, len(got))
		case strings.Count(got, "@") != 1 || strings.ContainsAny(got, ",;<>\"\\"):
			t.Fatalf("NormalizeAddress(%q) = %q: not one bare address", in, got)
		case strings.ContainsFunc(got, func(r rune) bool { return r > unicode.MaxASCII || unicode.IsSpace(r) || unicode.IsControl(r) }):
			t.Fatalf("NormalizeAddress(%q) = %q: a space, control or non-ASCII character", in, got)
		}
		if a, err := mail.ParseAddress(got); err != nil || a.Address != got || a.Name != "" {
			t.Fatalf("NormalizeAddress(%q) = %q, which net/mail reads as %+v, %v", in, got, a, err)
		}
		if again, err := NormalizeAddress(got); err != nil || again != got {
			t.Fatalf("NormalizeAddress(%q) = %q, which normalises to %q, %v", in, got, again, err)
		}
	})
}
