package telegramtest

import (
	"cmp"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is an answer forced on upcoming calls by FailNext or
// FailNextInChat, in place of the normal one.
type Fault struct {
	// Status is the HTTP status (and error_code); 0 means 500, unless the
	// fault is only a Delay.
	Status int
	// Description is the error description of the JSON answer; empty means
	// the status text ("Internal Server Error").
	Description string
	// RetryAfter sets parameters.retry_after in the JSON answer.
	RetryAfter int
	// Body, when set, is sent verbatim instead of Telegram's JSON envelope,
	// as a proxy in front of the Bot API would answer.
	Body string
	// ContentType is Body's content type; empty means text/html.
	ContentType string
	// Delay holds the answer back. A fault with only a Delay (no Status,
	// Body or Hang) makes a slow but otherwise normal call.
	Delay time.Duration
	// Hang never answers: the call ends when the client gives up (its
	// timeout) or the server is closed, with the connection dropped.
	Hang bool
	// Processed carries the call out (the message is sent) before the
	// fault answers, as when Telegram accepted a message but the answer was
	// lost: the case that makes senders send twice.
	Processed bool
	// PauseBot makes a 429 start a bot-wide retry_after of RetryAfter
	// seconds, as Telegram's global limit does: a message sent to any chat
	// before it has passed is a violation (see Stats.Violations).
	PauseBot bool
}

// ServerError is Telegram's own 500 answer.
func ServerError() Fault {
	return Fault{Status: http.StatusInternalServerError, Description: "Internal Server Error"}
}

// BadGateway is the HTML page an nginx proxy answers when the Bot API
// behind it is down: a 502 whose body is not JSON.
func BadGateway() Fault {
	return Fault{Status: http.StatusBadGateway, ContentType: "text/html", Body: "<html>\r\n" +
		"<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
		"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n" +
		"</body>\r\n</html>\r\n"}
}

// Hang is a call that never answers.
func Hang() Fault { return Fault{Hang: true} }

// FloodWait is a 429 with the given retry_after, independent of the
// limits the fake enforces (and not counted in Stats).
func FloodWait(retryAfter int) Fault {
	return Fault{Status: http.StatusTooManyRequests, RetryAfter: retryAfter,
		Description: "Too Many Requests: retry after " + strconv.Itoa(retryAfter)}
}

// BotFloodWait is a 429 from the bot-wide limit, whichever chat the call
// was for: like FloodWait, but the whole bot must then rest retry_after
// seconds, and every message sent before is a violation. It is what another
// process sharing the token, or a limit lower than documented, looks like
// to nashra.
func BotFloodWait(retryAfter int) Fault {
	f := FloodWait(retryAfter)
	f.PauseBot = true
	return f
}

type faultRule struct {
	method string // lower case; "" matches every method
	chatID int64  // 0 matches every chat
	left   int
	fault  Fault
}

// FailNext makes the next n calls of method (case-insensitive; "" for any
// method) answer with f. Rules apply in the order they were added; each
// call consumes at most one.
func (s *Server) FailNext(method string, n int, f Fault) {
	s.addFault(&faultRule{method: strings.ToLower(method), left: n, fault: f})
}

// FailNextInChat makes the next n calls whose chat_id is chatID (given as
// a number or as the chat's @username) answer with f.
func (s *Server) FailNextInChat(chatID int64, n int, f Fault) {
	s.addFault(&faultRule{chatID: chatID, left: n, fault: f})
}

// ClearFaults drops the faults not yet consumed.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) addFault(r *faultRule) {
	if r.left <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, r)
}

// takeFault consumes the first fault rule matching a call, if any.
func (s *Server) takeFault(method string, req *request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	var chatID int64
	if c, e := s.lookup(req.str("chat_id")); e == nil {
		chatID = c.info.ID
	} else {
		chatID, _ = strconv.ParseInt(req.str("chat_id"), 10, 64)
	}
	for i, r := range s.faults {
		if r.method != "" && r.method != strings.ToLower(method) || r.chatID != 0 && r.chatID != chatID {
			continue
		}
		if r.left--; r.left == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		f := r.fault
		return &f
	}
	return nil
}

// serveFault answers a call with a fault.
func (s *Server) serveFault(w http.ResponseWriter, req *request, h handler, f *Fault) {
	slowOnly := f.Status == 0 && f.Body == "" && !f.Hang
	var (
		result any
		aerr   *apiError
	)
	if f.Processed {
		result, aerr = h(s, req)
	}
	if f.Hang {
		select {
		case <-req.ctx.Done():
		case <-s.done:
		}
		panic(http.ErrAbortHandler) // drop the connection without an answer
	}
	if !s.sleep(req, f.Delay) {
		panic(http.ErrAbortHandler)
	}
	if slowOnly {
		if !f.Processed {
			result, aerr = h(s, req)
		}
		if aerr != nil {
			writeError(w, aerr)
		} else {
			writeJSON(w, http.StatusOK, response{Ok: true, Result: result})
		}
		return
	}
	if f.PauseBot {
		s.mu.Lock()
		s.pauseBot(req.flag("allow_paid_broadcast"), req.at(s), time.Duration(f.RetryAfter)*time.Second)
		s.mu.Unlock()
	}
	status := cmp.Or(f.Status, http.StatusInternalServerError)
	if f.Body != "" {
		w.Header().Set("Content-Type", cmp.Or(f.ContentType, "text/html"))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	writeError(w, &apiError{code: status, description: cmp.Or(f.Description, http.StatusText(status)), retryAfter: f.RetryAfter})
}

// SetLatency delays every API call by a random time in [min, max], as a
// distant server would (e.g. 50–100 ms for load benchmarks); zero turns it
// off.
func (s *Server) SetLatency(min, max time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencyMin, s.latencyMax = min, max
}

func (s *Server) latency() time.Duration {
	s.mu.Lock()
	lo, hi := s.latencyMin, s.latencyMax
	s.mu.Unlock()
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo+1)
}

// sleep waits d; it returns false if the client went away or the server
// closed first.
func (s *Server) sleep(req *request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-req.ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
