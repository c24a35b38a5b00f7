// Package smtpsink is a minimal SMTP server on loopback for the tests and
// benchmarks of the digest and the mail sender: it takes every message as
// fast as it can, records its envelope and Message-ID, and can answer with
// faults, drop idle connections, require STARTTLS or TLS, and ask for AUTH
// PLAIN.
package smtpsink

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Message is one message the sink took.
type Message struct {
	From, To string
	// ID is the Message-ID header's value.
	ID   string
	Size int
	// Raw is the message, when Options.KeepRaw is set.
	Raw []byte
}

// Options configure the sink.
type Options struct {
	// Addr is where to listen; empty: a random loopback port.
	Addr string
	// KeepRaw keeps every message's bytes.
	KeepRaw bool
	// Fault, when set, may refuse a command: it gets the stage ("mail",
	// "rcpt", "data") and the envelope address (the recipient at rcpt and
	// data) and returns a reply code (0 accepts) and text.
	Fault func(stage, addr string) (int, string)
	// IdleClose drops a connection that sent nothing for this long, as
	// real servers do; 0 never.
	IdleClose time.Duration
	// TLS, when set, is offered through STARTTLS (or used from the first
	// byte when Implicit).
	TLS      *tls.Config
	Implicit bool
	// User and Pass, when set, offer AUTH PLAIN and require it.
	User, Pass string
}

// Server is a running sink.
type Server struct {
	opts   Options
	ln     net.Listener
	mu     sync.Mutex
	msgs   []Message
	open   map[net.Conn]bool
	conns  atomic.Int64
	closed atomic.Bool
	wg     sync.WaitGroup
}

// Start listens on Options.Addr.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	if opts.Implicit {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &Server{opts: opts, ln: ln, open: map[net.Conn]bool{}}
	s.wg.Go(s.accept)
	return s, nil
}

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Messages returns a copy of what the sink took so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count returns how many messages the sink took.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// PerAddress counts the messages taken for each recipient.
func (s *Server) PerAddress() map[string]int {
	out := map[string]int{}
	for _, m := range s.Messages() {
		out[m.To]++
	}
	return out
}

// FreeAddr returns a loopback address with a port free a moment ago, for
// a server that comes up later.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Connections returns how many connections were opened.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Close stops listening, drops the open connections and waits for their
// goroutines.
func (s *Server) Close() {
	s.closed.Store(true)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.wg.Go(func() { s.serve(c) })
	}
}

type session struct {
	s     *Server
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	from  string
	to    string
	authd bool
	tls   bool
}

func (s *Server) serve(c net.Conn) {
	s.mu.Lock()
	s.open[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.open, c)
		s.mu.Unlock()
		c.Close()
	}()
	ss := &session{s: s, conn: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c), tls: s.opts.Implicit}
	ss.reply("220 sink ESMTP")
	for !s.closed.Load() {
		if s.opts.IdleClose > 0 {
			c.SetReadDeadline(time.Now().Add(s.opts.IdleClose))
		} else {
			c.SetReadDeadline(time.Now().Add(time.Minute))
		}
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return // idle too long, or the client left
		}
		if !ss.command(strings.TrimRight(line, "\r\n")) {
			return
		}
	}
}

func (ss *session) reply(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
	ss.w.Flush()
}

// command answers one line; false ends the connection.
func (ss *session) command(line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	o := ss.s.opts
	switch strings.ToUpper(verb) {
	case "EHLO":
		ext := []string{"250-sink", "250-PIPELINING", "250-8BITMIME"}
		if o.TLS != nil && !ss.tls {
			ext = append(ext, "250-STARTTLS")
		}
		if o.User != "" {
			ext = append(ext, "250-AUTH PLAIN")
		}
		ss.reply(append(ext, "250 SIZE 52428800")...)
	case "HELO", "NOOP":
		ss.reply("250 ok")
	case "RSET":
		ss.from, ss.to = "", ""
		ss.reply("250 ok")
	case "QUIT":
		ss.reply("221 bye")
		return false
	case "STARTTLS":
		if o.TLS == nil || ss.tls {
			ss.reply("502 no")
			return true
		}
		ss.reply("220 go ahead")
		tc := tls.Server(ss.conn, o.TLS)
		if tc.Handshake() != nil {
			return false
		}
		ss.conn, ss.tls = tc, true
		ss.r, ss.w = bufio.NewReaderSize(tc, 64<<10), bufio.NewWriter(tc)
	case "AUTH":
		mech, resp, _ := strings.Cut(arg, " ")
		raw, err := base64.StdEncoding.DecodeString(resp)
		parts := bytes.Split(raw, []byte{0})
		if !strings.EqualFold(mech, "PLAIN") || err != nil || len(parts) != 3 ||
			string(parts[1]) != o.User || string(parts[2]) != o.Pass {
			ss.reply("535 5.7.8 authentication failed")
			return true
		}
		ss.authd = true
		ss.reply("235 2.7.0 ok")
	case "MAIL":
		if o.User != "" && !ss.authd {
			ss.reply("530 5.7.0 authentication required")
			return true
		}
		if o.TLS != nil && !ss.tls {
			ss.reply("530 5.7.0 must issue STARTTLS first")
			return true
		}
		ss.from = address(arg)
		if ss.fault("mail", ss.from) {
			return true
		}
		ss.reply("250 ok")
	case "RCPT":
		ss.to = address(arg)
		if ss.fault("rcpt", ss.to) {
			ss.to = ""
			return true
		}
		ss.reply("250 ok")
	case "DATA":
		if ss.from == "" || ss.to == "" {
			ss.reply("503 bad sequence")
			return true
		}
		ss.reply("354 go ahead")
		raw, err := readData(ss.r, o.KeepRaw)
		if err != nil {
			return false
		}
		if ss.fault("data", ss.to) {
			return true
		}
		ss.s.mu.Lock()
		m := Message{From: ss.from, To: ss.to, ID: raw.id, Size: raw.size}
		if o.KeepRaw {
			m.Raw = raw.body
		}
		ss.s.msgs = append(ss.s.msgs, m)
		ss.s.mu.Unlock()
		ss.from, ss.to = "", ""
		ss.reply("250 ok queued")
	default:
		ss.reply("502 not implemented")
	}
	return true
}

func (ss *session) fault(stage, addr string) bool {
	if ss.s.opts.Fault == nil {
		return false
	}
	code, msg := ss.s.opts.Fault(stage, addr)
	if code == 0 {
		return false
	}
	ss.reply(fmt.Sprintf("%d %s", code, msg))
	return true
}

// address takes the address out of "FROM:<a@b> BODY=8BITMIME".
func address(arg string) string {
	i, j := strings.IndexByte(arg, '<'), strings.IndexByte(arg, '>')
	if i < 0 || j < i {
		return ""
	}
	return arg[i+1 : j]
}

type data struct {
	id   string
	size int
	body []byte
}

// readData reads a message up to the lone dot, undoing dot-stuffing, and
// picks its Message-ID out of the header.
func readData(r *bufio.Reader, keep bool) (data, error) {
	var d data
	var body bytes.Buffer
	inHeader := true
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			more, err2 := r.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), more...), err2
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return d, err
		}
		if len(line) == 3 && line[0] == '.' && line[1] == '\r' {
			d.body = body.Bytes()
			return d, nil
		}
		if line[0] == '.' {
			line = line[1:]
		}
		d.size += len(line)
		if inHeader {
			if len(line) <= 2 {
				inHeader = false
			} else if len(line) > 12 && bytes.EqualFold(line[:11], []byte("Message-Id:")) {
				d.id = strings.TrimSpace(string(line[11:]))
			}
		}
		if keep {
			body.Write(line)
		}
	}
}
