// Package outboxtest helps test the senders built on outbox: crash
// recovery with real processes — a test builds a sender's stand-alone
// program, kills it with SIGKILL mid-send, and checks what the store says
// — and what a sender logs meanwhile (Log).
package outboxtest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds the program pkg (an import path) into the test's temporary
// folder and returns its path; without a go toolchain the test is
// skipped. The program is built without the race detector whatever the
// test binary has: it is the process killed, not the one checked.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain to build the process a crash test kills")
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	out, err := exec.Command(gobin, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
