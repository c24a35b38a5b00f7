package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/config"
	"github.com/almaalouma/nashra/internal/smtpsink"
)

func TestTemporaryFailuresAreRetriedAndRefusedAddressesBounce(t *testing.T) {
	h := newHarness(t)
	h.subscribe(12)
	var mu sync.Mutex
	tries := map[string]int{}
	sink := h.sink(smtpsink.Options{Fault: func(stage, addr string) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if stage != "rcpt" {
			return 0, ""
		}
		tries[addr]++
		switch {
		case addr == "reader3@example.org" && tries[addr] <= 2:
			return 451, "4.7.1 greylisted, try again later"
		case addr == "reader5@example.org":
			return 550, "5.1.1 no such user"
		}
		return 0, ""
	}})
	h.cfg.Email.BounceThreshold = 1
	d := h.queue()
	s := h.sender()
	h.sendAll(s)
	got := sink.PerAddress()
	if len(got) != 11 || got["reader5@example.org"] != 0 {
		t.Fatalf("delivered to %d addresses: %v", len(got), got)
	}
	for addr, n := range got {
		if n != 1 {
			t.Errorf("%s got %d digests", addr, n)
		}
	}
	if tries["reader3@example.org"] != 3 {
		t.Errorf("the greylisted address was tried %d times, want 3", tries["reader3@example.org"])
	}
	counts, _ := h.db.SendCounts(context.Background(), d.ID)
	if counts[nashra.SendEmail][nashra.DeliverySent] != 11 || counts[nashra.SendEmail][nashra.DeliveryBounced] != 1 {
		t.Fatalf("send log %v", counts)
	}
	if sub, _ := h.db.EmailSubscriber(context.Background(), 6); sub.State != nashra.EmailBounced || !strings.Contains(sub.LastBounce, "5.1.1") {
		t.Fatalf("the refused address: %+v", sub)
	}
	if paused, _, _ := s.Paused(context.Background()); paused {
		t.Fatal("refused addresses paused the send")
	}
}

func TestSenderRefusedPausesTheSendAndAlerts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stage, code string
	}{
		{"sender refused", "mail", "550 5.7.1 sender address rejected"},
		{"relaying denied", "rcpt", "554 5.7.1 Relay access denied"},
		{"content refused", "data", "554 5.6.0 message rejected for content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.subscribe(20)
			var refuse sync.Map
			refuse.Store("on", true)
			sink := h.sink(smtpsink.Options{Fault: func(stage, addr string) (int, string) {
				if _, on := refuse.Load("on"); on && stage == tc.stage {
					var code int
					fmt.Sscanf(tc.code, "%d", &code)
					return code, tc.code[4:]
				}
				return 0, ""
			}})
			h.cfg.Email.PauseCooldown = 0 // wait for an admin
			h.queue()
			s := h.sender()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := h.send(ctx, s); err == nil || !strings.Contains(err.Error(), "paused") {
				t.Fatalf("send: %v, want it paused", err)
			}
			alerts, _ := h.db.UnsentAlerts(ctx)
			if len(alerts) != 1 || alerts[0].Kind != "email_paused" || !strings.Contains(alerts[0].Message, "nashra digest resume") {
				t.Fatalf("alerts %+v", alerts)
			}
			if counts, _ := h.db.CountEmailSubscribers(ctx); counts[nashra.EmailActive] != 20 {
				t.Fatalf("a refusal of the sender counted against addresses: %v", counts)
			}
			d, _ := h.db.Digest(ctx, "2026-11-28")
			c, _ := h.db.SendCounts(ctx, d.ID)
			if c[nashra.SendEmail][nashra.DeliveryBounced] != 0 || c[nashra.SendEmail][nashra.DeliveryPending] < 20-sink.Count() {
				t.Fatalf("send log while paused: %v", c)
			}
			// The admin fixes the server and resumes: the rest goes out, once.
			refuse.Delete("on")
			if err := s.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			h.sendAll(s)
			got := sink.PerAddress()
			if len(got) != 20 {
				t.Fatalf("after resuming, %d addresses got the digest", len(got))
			}
			for addr, n := range got {
				if n != 1 {
					t.Errorf("%s got %d digests", addr, n)
				}
			}
		})
	}
}

func TestUnreachableServerIsWaitedFor(t *testing.T) {
	h := newHarness(t)
	h.subscribe(30)
	addr, err := smtpsink.FreeAddr() // nobody listens yet
	if err != nil {
		t.Fatal(err)
	}
	h.smtp("smtp://" + addr)
	h.cfg.Email.MaxAttempts = 2
	h.queue()
	s := h.sender()
	sinks := make(chan *smtpsink.Server, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		sink, err := smtpsink.Start(smtpsink.Options{Addr: addr})
		if err != nil {
			t.Error(err)
		}
		sinks <- sink
	}()
	h.sendAll(s)
	sink := <-sinks
	defer sink.Close()
	if got := sink.PerAddress(); len(got) != 30 {
		t.Fatalf("%d addresses got the digest after the server came up, want 30", len(got))
	}
	if n := s.counted("dead") + s.counted("retried"); n != 0 {
		t.Fatalf("an unreachable server cost messages %v attempts", n)
	}
	if !strings.Contains(h.log.String(), "unreachable") {
		t.Fatal("the log does not say the server was unreachable")
	}
}

func TestBounceStormPausesInsteadOfBouncingTheList(t *testing.T) {
	h := newHarness(t)
	h.subscribe(40)
	h.sink(smtpsink.Options{Fault: func(stage, addr string) (int, string) {
		if stage == "rcpt" {
			return 550, "mailbox unavailable"
		}
		return 0, ""
	}})
	h.cfg.Email.BounceThreshold, h.cfg.Email.BounceStorm, h.cfg.Email.PauseCooldown = 1, 5, 0
	h.queue()
	s := h.sender()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.send(ctx, s); err == nil {
		t.Fatal("the send went on while every address was refused")
	}
	counts, _ := h.db.CountEmailSubscribers(ctx)
	if counts[nashra.EmailBounced] >= 5+h.cfg.Email.Concurrency || counts[nashra.EmailActive] < 30 {
		t.Fatalf("subscribers %v: the storm should stop after about %d bounces", counts, h.cfg.Email.BounceStorm)
	}
}

func TestStaleIdleConnectionsAreReplaced(t *testing.T) {
	for _, tc := range []struct {
		name      string
		idleClose time.Duration // the server drops idle clients
		idleFor   time.Duration // nashra's own limit
	}{
		{"the server dropped it", 150 * time.Millisecond, time.Hour},
		{"idle past the limit", 0, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sink := h.sink(smtpsink.Options{IdleClose: tc.idleClose})
			h.cfg.Email.IdleTimeout, h.cfg.Email.Concurrency = config.Duration(tc.idleFor), 1
			s := h.sender()
			ctx := context.Background()
			for i := range 3 {
				if err := h.signups(s).RequestSignup(ctx, asker(0), fmt.Sprintf("r%d@example.org", i), nil); err != nil {
					t.Fatal(err)
				}
				h.sendAll(s)
				time.Sleep(400 * time.Millisecond)
			}
			if n := sink.Count(); n != 3 {
				t.Fatalf("%d mails taken, want 3", n)
			}
			tr := s.transport.(*smtpTransport)
			if tr.replaced.Load() < 2 || sink.Connections() < 3 {
				t.Fatalf("%d connections replaced, %d opened", tr.replaced.Load(), sink.Connections())
			}
			if strings.Contains(h.log.String(), "will retry") {
				t.Fatalf("a stale connection failed a mail:\n%s", h.log.String())
			}
		})
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestSMTPTLSAndAuth(t *testing.T) {
	server, roots := selfSigned(t)
	for _, tc := range []struct {
		name     string
		implicit bool
		url      func(addr string) string
		ok       bool
		roots    *x509.CertPool
	}{
		{"starttls", false, func(a string) string { return "smtp://nashra:s3cret@" + a + "?starttls=true" }, true, roots},
		{"implicit tls", true, func(a string) string { return "smtps://nashra:s3cret@" + a }, true, roots},
		{"wrong password", false, func(a string) string { return "smtp://nashra:nope@" + a + "?starttls=true" }, false, roots},
		{"no tls asked, server requires it", false, func(a string) string { return "smtp://" + a }, false, roots},
		{"untrusted certificate", true, func(a string) string { return "smtps://nashra:s3cret@" + a }, false, x509.NewCertPool()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.subscribe(3)
			sink := h.sink(smtpsink.Options{TLS: server, Implicit: tc.implicit, User: "nashra", Pass: "s3cret"})
			h.smtp(tc.url(sink.Addr()))
			h.cfg.Email.PauseCooldown = 0
			h.queue()
			s := h.sender(func(d *Deps) { d.TLS = &tls.Config{RootCAs: tc.roots} })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := h.send(ctx, s)
			if tc.ok && (err != nil || sink.Count() != 3) {
				t.Fatalf("send: %v, %d taken", err, sink.Count())
			}
			if !tc.ok && (err == nil || sink.Count() != 0) {
				t.Fatalf("send: %v, %d taken; want the send paused", err, sink.Count())
			}
		})
	}
}

// A policy refusal (5.7.x) of a confirmation, at RCPT TO or after DATA,
// comes from the domain its requester chose: it too is the address's own,
// while the same refusal of a digest still pauses the send (see
// TestSenderRefusedPausesTheSendAndAlerts).
func TestPolicyRefusalsOfConfirmationsDoNotPause(t *testing.T) {
	h := newHarness(t)
	h.subscribe(5)
	sink := h.sink(smtpsink.Options{Fault: func(stage, addr string) (int, string) {
		switch {
		case !strings.HasSuffix(addr, "@victim.invalid"):
			return 0, ""
		case stage == "rcpt" && strings.HasPrefix(addr, "relay"):
			return 554, "5.7.1 Relay access denied"
		case stage == "data":
			return 550, "5.7.1 Message rejected by the recipient's policy"
		}
		return 0, ""
	}})
	h.cfg.Email.BounceStorm = 3
	h.queue()
	s := h.sender()
	ctx := context.Background()
	for i := range 10 {
		addr := fmt.Sprintf("relay%d@victim.invalid", i)
		if i%2 == 1 {
			addr = fmt.Sprintf("content%d@victim.invalid", i)
		}
		if err := h.signups(s).RequestSignup(ctx, asker(i), addr, nil); err != nil {
			t.Fatal(err)
		}
	}
	h.sendAll(s)
	if got := sink.PerAddress(); len(got) != 5 {
		t.Fatalf("delivered to %v, want the 5 subscribers", got)
	}
	if counts, _ := h.db.CountEmailSubscribers(ctx); counts[nashra.EmailActive] != 5 {
		t.Fatalf("subscribers %v", counts)
	}
}

// The operator's series of the email queue, kept by the engine: the lease
// held while sending, every send timed, the pause.
func TestQueueMetrics(t *testing.T) {
	h := newHarness(t)
	h.subscribe(5)
	h.queue()
	reg := prometheus.NewRegistry()
	s := h.sender(func(d *Deps) { d.Registerer = reg })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leading float64
	err := s.SendUntil(ctx, func(ctx context.Context) (bool, error) {
		n, err := h.db.OpenSends(ctx, nashra.SendEmail)
		if n == 0 {
			leading = gathered(t, reg, "nashra_digest_leader").GetGauge().GetValue()
		}
		return n == 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if leading != 1 {
		t.Errorf("nashra_digest_leader was %v while the mails went out, want 1", leading)
	}
	if v := gathered(t, reg, "nashra_digest_leader").GetGauge().GetValue(); v != 0 {
		t.Errorf("nashra_digest_leader is %v once the sender stopped, want 0", v)
	}
	if v := gathered(t, reg, "nashra_digest_paused").GetGauge().GetValue(); v != 0 {
		t.Errorf("nashra_digest_paused is %v, want 0", v)
	}
	if n := gathered(t, reg, "nashra_digest_send_seconds").GetHistogram().GetSampleCount(); n != 5 {
		t.Errorf("%d sends timed, want 5", n)
	}
}

// gathered is the one series of the family name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0]
		}
	}
	t.Fatalf("no single series %s", name)
	return nil
}

// counted is how many mails s counted with result.
func (s *Sender) counted(result string) float64 {
	var m dto.Metric
	if err := s.m.messages.WithLabelValues(result).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
