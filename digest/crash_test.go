package digest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/internal/smtpsink"
	"github.com/almaalouma/nashra/outbox/outboxtest"
)

// kill -9 during a 10,000-recipient send, then resume: every address gets
// exactly one digest, apart from those in flight at the kill — sent, but
// not yet recorded — which get a second; there are at most Concurrency of
// them.
func TestKillDuringSendThenResume(t *testing.T) {
	const readers = 10000
	dir := t.TempDir()
	h := openHarness(t, dir, newClock(digestDay.Add(5*time.Minute)))
	h.seed(2)
	h.subscribe(readers, nil, []string{"news"}, []string{"video", "reports"})
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	h.cfg.SMTP = smtpURL(h.t, "smtp://"+sink.Addr())
	ctx := context.Background()
	d, _, err := h.service().Build(ctx, digestDay)
	if err != nil || d.Emails != readers {
		t.Fatalf("build: %+v, %v", d, err)
	}

	bin := outboxtest.Build(t, "github.com/almaalouma/nashra/digest/internal/sendd")
	log, err := os.Create(filepath.Join(dir, "sendd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	sendd := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"-db", filepath.Join(dir, "nashra.db"), "-smtp", sink.Addr(),
			"-now", h.clock.now().Format(time.RFC3339Nano)}, args...)...)
		cmd.Stdout, cmd.Stderr = log, log
		return cmd
	}
	child := sendd()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for sink.Count() < readers*3/10 {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("the sender sent %d in a minute:\n%s", sink.Count(), b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	atKill := sink.PerAddress()

	counts, _ := h.db.SendCounts(ctx, d.ID)
	inFlight := counts[nashra.SendEmail][nashra.DeliveryClaimed]
	t.Logf("killed after %d messages; %d rows recorded sent, %d claimed (in flight or waiting)",
		sink.Count(), counts[nashra.SendEmail][nashra.DeliverySent], inFlight)

	// A new process resumes once the dead one's lease has ended.
	resumed := time.Now()
	if err := sendd("-day", "2026-11-28").Run(); err != nil {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("resume: %v\n%s", err, b)
	}
	t.Logf("resumed and finished in %s", time.Since(resumed).Round(time.Millisecond))
	got := sink.PerAddress()
	if len(got) != readers {
		t.Fatalf("%d addresses got the digest, want %d", len(got), readers)
	}
	var doubles []string
	for addr, n := range got {
		switch {
		case n == 2 && atKill[addr] == 1:
			doubles = append(doubles, addr)
		case n != 1:
			t.Errorf("%s got %d digests (%d before the kill)", addr, n, atKill[addr])
		}
	}
	conc := h.cfg.Email.Concurrency
	if len(doubles) > conc {
		t.Fatalf("%d addresses got two digests, more than the %d that can be in flight", len(doubles), conc)
	}
	t.Logf("%d messages for %d readers: %d doubles, all in flight at the kill (bound: concurrency %d)",
		len(sink.Messages()), readers, len(doubles), conc)
}
