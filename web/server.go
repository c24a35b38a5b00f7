// Package web serves nashra's HTTP endpoints: health and readiness probes,
// Prometheus metrics, and (as the product grows) the pages readers open.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Store is what the probes need from the store.
type Store interface {
	// Ping fails when the database does not answer.
	Ping(ctx context.Context) error
	// Pending returns how many migrations are not applied yet.
	Pending(ctx context.Context) (int, error)
}

// Options configure the server.
type Options struct {
	Addr string
	// MetricsAddr, when set, serves /metrics on its own listener so it need
	// not be public; otherwise the main server serves it.
	MetricsAddr string
	Store       Store
	Gatherer    prometheus.Gatherer
	Logger      *slog.Logger
}

// Server is nashra's HTTP server.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	servers []*http.Server
	addrs   []net.Addr
	limits  map[string]int64 // body caps of the routes that take more than maxBodyBytes, by pattern
}

// New builds the server; Start listens.
func New(opts Options) *Server {
	s := &Server{opts: opts, mux: http.NewServeMux(), limits: map[string]int64{}}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	metrics := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError)})
	if opts.MetricsAddr == "" {
		s.mux.Handle("GET /metrics", metrics)
	}
	return s
}

// Handle adds a route to the main server; call it before Start.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleLarge adds a route whose POST bodies may reach maxBody bytes
// rather than the usual cap; call it before Start.
func (s *Server) HandleLarge(pattern string, h http.Handler, maxBody int64) {
	s.mux.Handle(pattern, h)
	s.limits[pattern] = maxBody
}

// handler is what the main listener serves: the routes, behind the cap on
// bodies.
func (s *Server) handler() http.Handler { return limitBodies(s.mux, s.bodyLimit) }

// bodyLimit is the cap on the body of a POST to r's route.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if len(s.limits) > 0 {
		if _, pattern := s.mux.Handler(r); s.limits[pattern] > 0 {
			return s.limits[pattern]
		}
	}
	return maxBodyBytes
}

// Start listens on the configured addresses and serves in the background.
func (s *Server) Start() error {
	listen := func(addr string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		}
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, ln.Addr())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.opts.Logger.Error("http server stopped", "addr", addr, "err", err)
			}
		}()
		return nil
	}
	if err := listen(s.opts.Addr, s.handler()); err != nil {
		return err
	}
	if s.opts.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{}))
		if err := listen(s.opts.MetricsAddr, limitBodies(mux, nil)); err != nil {
			s.Shutdown(context.Background())
			return err
		}
	}
	return nil
}

// Addrs returns the addresses listened on, the main one first; useful when
// an address asked for port 0.
func (s *Server) Addrs() []net.Addr { return s.addrs }

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// maxBodyBytes bounds the body of any request but those of the routes
// added with HandleLarge: the largest nashra takes otherwise is a Telegram
// update (the webhook allows 1 MB), and forms cap theirs far lower
// themselves.
const maxBodyBytes = 1 << 20

// limitBodies caps every request's body before any handler, or the
// standard library's form parsing on its behalf, can read it: only a POST
// may carry a body, at most maxBodyBytes or what limitOf (when not nil)
// says of its route. A body declared too large is refused before a byte of
// it is read, and the connection closed; one sent without a length is cut
// where it passes the cap.
func limitBodies(next http.Handler, limitOf func(*http.Request) int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := int64(maxBodyBytes)
		if limitOf != nil {
			limit = limitOf(r)
		}
		if r.Method != http.MethodPost {
			limit = 0
		}
		// ContentLength is -1 for a body of unknown length: a request other
		// than a POST must declare none at all.
		if r.ContentLength > limit || limit == 0 && r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
			http.Error(w, "الطلب أكبر من المسموح به.", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Store.Ping(ctx); err != nil {
		s.opts.Logger.Warn("not ready: store unreachable", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
		return
	}
	n, err := s.opts.Store.Pending(ctx)
	if err != nil || n > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "migrations pending", "pending": n})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
