package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxRequestBody is Telegram's upload limit for bots (50 MB) plus room for
// the multipart framing.
const maxRequestBody = 50<<20 + 1<<20

// request is one API call with its parameters, gathered from the query
// string and from the body in any of the encodings Telegram accepts.
type request struct {
	ctx     context.Context
	params  map[string]string
	files   map[string]*upload // multipart file parts by field name
	arrived time.Time          // when it reached "Telegram": received plus latency
}

// upload is a file sent in a multipart/form-data body.
type upload struct {
	name        string
	contentType string
	data        []byte
}

func parseRequest(w http.ResponseWriter, r *http.Request) (*request, *apiError) {
	req := &request{ctx: r.Context(), params: map[string]string{}, files: map[string]*upload{}}
	for k, v := range r.URL.Query() {
		req.params[k] = v[0]
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ctype {
	case "application/x-www-form-urlencoded":
		if err = r.ParseForm(); err == nil {
			for k, v := range r.PostForm {
				req.params[k] = v[0]
			}
		}
	case "multipart/form-data":
		err = req.readMultipart(r)
	case "application/json":
		err = req.readJSON(r.Body)
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &apiError{code: http.StatusRequestEntityTooLarge, description: "Request Entity Too Large"}
	case err != nil:
		return nil, badRequest("can't parse request body: %v", err)
	}
	for _, v := range req.params {
		if !utf8.ValidString(v) {
			return nil, badRequest("%v", errNotUTF8)
		}
	}
	return req, nil
}

func (req *request) readMultipart(r *http.Request) error {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		return err
	}
	defer r.MultipartForm.RemoveAll()
	for k, v := range r.MultipartForm.Value {
		req.params[k] = v[0]
	}
	for k, headers := range r.MultipartForm.File {
		h := headers[0]
		f, err := h.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return err
		}
		req.files[k] = &upload{name: h.Filename, contentType: h.Header.Get("Content-Type"), data: data}
	}
	return nil
}

// readJSON reads a JSON object body. Nested objects and arrays become their
// JSON text, the form Telegram expects them in the other encodings.
func (req *request) readJSON(body io.Reader) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	for k, raw := range fields {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			req.params[k] = s
		} else if string(raw) != "null" {
			req.params[k] = string(raw)
		}
	}
	return nil
}

func (req *request) str(name string) string { return req.params[name] }

func (req *request) has(name string) bool {
	_, ok := req.params[name]
	return ok
}

// flag reads a Boolean parameter.
func (req *request) flag(name string) bool {
	switch strings.ToLower(req.params[name]) {
	case "true", "1":
		return true
	}
	return false
}

// int reads an integer parameter; like the Bot API, garbage reads as 0.
func (req *request) int(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(req.params[name]), 10, 64)
	return n
}

// object reads a parameter holding a JSON object; absent gives nil.
func (req *request) object(name string) (json.RawMessage, bool) {
	v := strings.TrimSpace(req.params[name])
	if v == "" {
		return nil, true
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &probe) != nil {
		return nil, false
	}
	return json.RawMessage(v), true
}

// fileRef returns what a file parameter refers to: an uploaded part (also
// through "attach://<name>"), or the string given (a file_id or a URL).
func (req *request) fileRef(name string) (*upload, string) {
	if u := req.files[name]; u != nil {
		return u, ""
	}
	v := req.params[name]
	if part, ok := strings.CutPrefix(v, "attach://"); ok {
		return req.files[part], ""
	}
	return nil, v
}

// isURL reports whether a file parameter is a URL Telegram would download.
func isURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// at returns when the request arrived, for the flood limits; s.mu must be
// held.
func (req *request) at(s *Server) time.Time {
	if req.arrived.IsZero() {
		return s.now()
	}
	return req.arrived
}
