package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type fakeStore struct {
	pingErr error
	pending int
}

func (f *fakeStore) Ping(context.Context) error           { return f.pingErr }
func (f *fakeStore) Pending(context.Context) (int, error) { return f.pending, nil }

func start(t *testing.T, st Store, metricsAddr string) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "nashra_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	s := New(Options{Addr: "127.0.0.1:0", MetricsAddr: metricsAddr, Store: st, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProbes(t *testing.T) {
	st := &fakeStore{}
	s := start(t, st, "")
	base := "http://" + s.Addrs()[0].String()
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz = %d %s", code, body)
	}
	st.pending = 1
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "migrations") {
		t.Errorf("/readyz with a pending migration = %d %s", code, body)
	}
	st.pending, st.pingErr = 0, errors.New("disk gone")
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz with the store down = %d", code)
	}
	// Liveness does not depend on the store: restarting would not help.
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz with the store down = %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "nashra_test_total 1") {
		t.Errorf("/metrics = %d %q", code, body)
	}
}

func TestMetricsOnTheirOwnAddress(t *testing.T) {
	s := start(t, &fakeStore{}, "127.0.0.1:0")
	main, metrics := "http://"+s.Addrs()[0].String(), "http://"+s.Addrs()[1].String()
	if code, _ := get(t, main+"/metrics"); code != 404 {
		t.Errorf("public /metrics = %d, want 404", code)
	}
	if code, body := get(t, metrics+"/metrics"); code != 200 || !strings.Contains(body, "nashra_test_total") {
		t.Errorf("private /metrics = %d", code)
	}
}
