package subscribers

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeAddress(t *testing.T) {
	for _, tc := range []struct {
		in, want, problem string
	}{
		{"reader@example.org", "reader@example.org", ""},
		{"  Reader.Name+news@Example.org ", "Reader.Name+news@example.org", ""},
		{"قارئ@مثال.عراق", "", ProblemInvalid}, // the local part must be ASCII
		{"reader@مثال.عراق", "reader@xn--mgbh0fb.xn--mgbtx2b", ""},
		{"", "", ProblemEmpty},
		{"   ", "", ProblemEmpty},
		{"reader@example.org\r\nBcc: victim@example.org", "", ProblemLineBreak},
		{"reader@example.org\n", "", ProblemLineBreak},
		{"reader@example.org%0d%0abcc:x@y.z", "", ProblemSeveral},
		{"a@example.org, b@example.org", "", ProblemSeveral},
		{"a@example.org;b@example.org", "", ProblemSeveral},
		{"a@example.org b@example.org", "", ProblemSeveral},
		{"a@b@example.org", "", ProblemSeveral},
		{"Reader <reader@example.org>", "", ProblemSeveral},
		{"<reader@example.org>", "", ProblemInvalid},
		{"reader", "", ProblemInvalid},
		{"reader@localhost", "", ProblemInvalid},
		{"@example.org", "", ProblemInvalid},
		{`"quoted"@example.org`, "", ProblemInvalid},
		{strings.Repeat("a", 250) + "@example.org", "", ProblemTooLong},
		{"reader@example.\x92", "", ProblemInvalid}, // not UTF-8: the domain would be U+FFFD
	} {
		got, err := NormalizeAddress(tc.in)
		var ae *AddressError
		switch {
		case tc.problem == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.problem != "" && (!errors.As(err, &ae) || ae.AddressProblem() != tc.problem):
			t.Errorf("%q: %q, %v; want problem %s", tc.in, got, err, tc.problem)
		}
	}
}
