package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/almaalouma/nashra/config"
)

// transport delivers composed messages.
type transport interface {
	// send delivers one message; a failure is a *sendError saying at which
	// stage it failed and what the server answered.
	send(ctx context.Context, m Message) error
	Close() error
}

// sendError is a failed delivery: the SMTP stage (connect, tls, starttls,
// auth, mail, rcpt, data, write), the server's reply code (0 for a
// network error) and its text.
type sendError struct {
	stage string
	code  int
	msg   string
	err   error
}

func (e *sendError) Error() string {
	if e.code != 0 {
		return fmt.Sprintf("smtp %s: %d %s", e.stage, e.code, e.msg)
	}
	return fmt.Sprintf("smtp %s: %s", e.stage, e.msg)
}

func (e *sendError) Unwrap() error { return e.err }

func stageError(stage string, err error) *sendError {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &sendError{stage: stage, code: tp.Code, msg: tp.Msg, err: err}
	}
	return &sendError{stage: stage, msg: err.Error(), err: err}
}

// smtpTransport sends through one SMTP server over a pool of connections.
// Unlike the library's pool it bounds every exchange with a deadline,
// replaces a connection that sat idle past IdleTimeout, and when a reused
// connection turns out dead before the server accepted anything, sends on
// a fresh one instead of failing the message.
type smtpTransport struct {
	u        config.SMTP
	auth     smtp.Auth
	tls      *tls.Config
	helo     string
	timeout  time.Duration
	idleFor  time.Duration
	idle     chan *smtpConn
	slots    chan struct{}
	closed   atomic.Bool
	replaced atomic.Int64 // stale connections replaced, for tests and logs
}

type smtpConn struct {
	c    *smtp.Client
	conn net.Conn
	used time.Time
}

func newSMTPTransport(cfg *config.Config, base *tls.Config) *smtpTransport {
	u := cfg.SMTP
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
	}
	tc.ServerName = u.Host
	t := &smtpTransport{
		u: u, tls: tc, helo: cfg.Email.MessageDomain(), timeout: cfg.Email.SendTimeout.D(), idleFor: cfg.Email.IdleTimeout.D(),
		idle: make(chan *smtpConn, cfg.Email.Concurrency), slots: make(chan struct{}, cfg.Email.Concurrency),
	}
	if u.User != "" {
		// net/smtp refuses PLAIN in clear except to localhost.
		t.auth = smtp.PlainAuth("", u.User, u.Password, u.Host)
	}
	return t
}

func (t *smtpTransport) send(ctx context.Context, m Message) error {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return &sendError{stage: "connect", msg: ctx.Err().Error(), err: ctx.Err()}
	}
	defer func() { <-t.slots }()
	c := t.takeIdle()
	reused := c != nil
	if c == nil {
		var err error
		if c, err = t.dial(ctx); err != nil {
			return err
		}
	}
	err := c.deliver(ctx, m, t.timeout)
	if err != nil && reused && stale(err) {
		// The server dropped the connection while it was idle; it had
		// accepted nothing of this message yet.
		c.close()
		t.replaced.Add(1)
		if c, err = t.dial(ctx); err != nil {
			return err
		}
		err = c.deliver(ctx, m, t.timeout)
	}
	t.putBack(c, err)
	return err
}

// stale reports whether a failure on a reused connection came from the
// connection, before the server accepted the sender: a network error or
// "421 closing" at MAIL FROM.
func stale(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.stage == "mail" && (se.code == 0 || se.code == 421)
}

// takeIdle returns an idle connection still fresh enough, closing those
// idle too long; nil when there is none.
func (t *smtpTransport) takeIdle() *smtpConn {
	for {
		select {
		case c := <-t.idle:
			if time.Since(c.used) < t.idleFor {
				return c
			}
			c.quit()
			t.replaced.Add(1)
		default:
			return nil
		}
	}
}

// putBack keeps a connection for the next message when it is healthy: a
// refusal is an SMTP answer on a working connection, reset with RSET; a
// network error or a 421 ends it.
func (t *smtpTransport) putBack(c *smtpConn, err error) {
	if err != nil {
		var se *sendError
		if !errors.As(err, &se) || se.code == 0 || se.code == 421 {
			c.close()
			return
		}
		c.conn.SetDeadline(time.Now().Add(t.timeout))
		if c.c.Reset() != nil {
			c.close()
			return
		}
	}
	if t.closed.Load() {
		c.quit()
		return
	}
	c.used = time.Now()
	select {
	case t.idle <- c:
	default:
		c.quit()
	}
}

func (t *smtpTransport) dial(ctx context.Context) (*smtpConn, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", t.u.Addr())
	if err != nil {
		return nil, stageError("connect", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	if t.u.ImplicitTLS {
		tc := tls.Client(conn, t.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, stageError("tls", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, t.u.Host)
	if err != nil {
		conn.Close()
		return nil, stageError("connect", err)
	}
	sc := &smtpConn{c: c, conn: conn}
	fail := func(stage string, err error) (*smtpConn, error) {
		sc.close()
		return nil, stageError(stage, err)
	}
	if err := c.Hello(t.helo); err != nil {
		return fail("connect", err)
	}
	if t.u.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fail("starttls", errors.New("the server does not offer STARTTLS"))
		}
		if err := c.StartTLS(t.tls); err != nil {
			return fail("starttls", err)
		}
	}
	if t.auth != nil {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fail("auth", errors.New("the server does not offer AUTH"))
		}
		if err := c.Auth(t.auth); err != nil {
			return fail("auth", err)
		}
	}
	return sc, nil
}

// deliver runs one mail transaction, bounded by timeout and by ctx.
func (c *smtpConn) deliver(ctx context.Context, m Message, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Now()) })
	defer stop()
	if err := c.c.Mail(m.From); err != nil {
		return stageError("mail", err)
	}
	if err := c.c.Rcpt(m.To); err != nil {
		return stageError("rcpt", err)
	}
	w, err := c.c.Data()
	if err != nil {
		return stageError("data", err)
	}
	if _, err := w.Write(m.Raw); err != nil {
		w.Close()
		return stageError("write", err)
	}
	if err := w.Close(); err != nil {
		return stageError("data", err)
	}
	return nil
}

func (c *smtpConn) close() { c.c.Close() }

// quit says goodbye politely, briefly.
func (c *smtpConn) quit() {
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	if c.c.Quit() != nil {
		c.c.Close()
	}
}

// Close ends the idle connections; those in use end when their message
// is done.
func (t *smtpTransport) Close() error {
	t.closed.Store(true)
	for {
		select {
		case c := <-t.idle:
			c.quit()
		default:
			return nil
		}
	}
}

// fileTransport writes each message as an .eml file: the default setup
// works offline, and an operator can open what would have been sent.
type fileTransport struct{ dir string }

func newFileTransport(dir string) (*fileTransport, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &fileTransport{dir: dir}, nil
}

// send writes the file under a temporary name first, so that a crash never
// leaves half a message; a resend of the same row overwrites its file.
func (f *fileTransport) send(_ context.Context, m Message) error {
	path := filepath.Join(f.dir, m.Name+".eml")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, m.Raw, 0o640); err != nil {
		return stageError("write", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return stageError("write", err)
	}
	return nil
}

func (f *fileTransport) Close() error { return nil }
