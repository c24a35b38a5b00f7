package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for reading an image's dimensions
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/almaalouma/nashra"
	"github.com/almaalouma/nashra/delivery"
)

// errImageUnusable means an article's image could be neither sent by URL
// nor downloaded and uploaded: the post goes out as text.
var errImageUnusable = errors.New("image unusable")

const (
	// maxImageBytes is sendPhoto's upload limit, and the most nashra
	// downloads of an image.
	maxImageBytes = 10 << 20
	// probeBytes are read to learn an image's dimensions: JPEG and PNG
	// headers sit at the start.
	probeBytes     = 64 << 10
	imageTimeout   = 20 * time.Second
	imageUserAgent = "Mozilla/5.0 (compatible; nashra/1.0; +https://almaalouma.net)"
)

// NewImageClient returns the client that fetches article images: bounded
// connection and overall times.
func NewImageClient() *http.Client {
	return &http.Client{
		Timeout: imageTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       time.Minute,
		},
	}
}

// postImage sends an article as a photo (or, for long infographics, a
// document) with its caption. The first success for an article is
// remembered, so the rest of its fan-out reuses Telegram's file_id; an
// image found unusable is not tried again for the same article.
func (s *Sender) postImage(ctx context.Context, p delivery.Post, a nashra.Article, medium nashra.Medium, chat int64) (delivery.Sent, error) {
	e := s.files.entry(a.ID, a.ImageURL)
	// One send at a time per article until its file_id is known: the
	// others then reuse it instead of each uploading the image.
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.broken {
		return delivery.Sent{}, errImageUnusable
	}
	params := s.base(p.Target)
	setBody(params, "caption", s.render.PostFor(a, medium, MaxCaption, Why(p.Target)), p.Plain)
	SetMarkup(params, s.postKeyboard(a, medium, chat))
	if e.fileID != "" {
		m, err := s.sendFile(ctx, e.kind, params, tgbotapi.FileID(e.fileID))
		if err == nil || Classify(err).Kind != delivery.Rejected {
			return sentOf(m, err)
		}
		e.fileID = "" // Telegram forgot it: start again
	}
	src := encodeURL(a.ImageURL)
	if !e.probed {
		e.probed = true
		if w, h, err := s.images.dimensions(ctx, src); err == nil && tooLong(w, h) {
			e.kind = kindDocument
		}
	}
	if e.kind == kindPhoto {
		m, err := s.sendFile(ctx, kindPhoto, params, tgbotapi.FileURL(src))
		if err == nil {
			e.fileID = fileIDOf(m, kindPhoto)
			return sentOf(m, nil)
		}
		if Classify(err).Kind != delivery.Rejected {
			return delivery.Sent{}, err
		}
		// Telegram could not fetch or read it: fetch it ourselves.
		s.log.Info("telegram: photo by URL refused, uploading", "article_id", a.ID, "reason", Classify(err).Reason)
	}
	data, err := s.images.download(ctx, src)
	if err != nil {
		s.log.Warn("telegram: download image", "article_id", a.ID, "image_url", src, "err", err)
		e.broken = true
		return delivery.Sent{}, errImageUnusable
	}
	if w, h, err := dimensions(data); err == nil && tooLong(w, h) {
		e.kind = kindDocument
	}
	for {
		file := tgbotapi.FileBytes{Name: fileName(a, data), Bytes: data}
		m, err := s.sendFile(ctx, e.kind, params, file)
		if err == nil {
			e.fileID = fileIDOf(m, e.kind)
			return sentOf(m, nil)
		}
		se := Classify(err)
		switch {
		case se.Kind != delivery.Rejected:
			return delivery.Sent{}, err
		case e.kind == kindPhoto && strings.Contains(strings.ToUpper(se.Reason), "PHOTO_INVALID_DIMENSIONS"):
			e.kind = kindDocument
			continue
		}
		s.log.Warn("telegram: image upload refused", "article_id", a.ID, "reason", se.Reason)
		e.broken = true
		return delivery.Sent{}, errImageUnusable
	}
}

// sendFile sends a photo or document, by file_id or URL (form) or as an
// upload (multipart).
func (s *Sender) sendFile(ctx context.Context, kind string, params tgbotapi.Params, file tgbotapi.RequestFileData) (tgbotapi.Message, error) {
	method := "sendPhoto"
	if kind == kindDocument {
		method = "sendDocument"
	}
	if !file.NeedsUpload() {
		p := copyParams(params)
		p[kind] = file.SendData()
		return s.send(ctx, method, p)
	}
	ctx, sent, err := s.admit(ctx)
	if err != nil {
		return tgbotapi.Message{}, err
	}
	defer sent()
	resp, err := s.api.Upload(ctx, method, params, []tgbotapi.RequestFile{{Name: kind, Data: file}})
	return decodeSent(resp, err)
}

func copyParams(p tgbotapi.Params) tgbotapi.Params {
	out := make(tgbotapi.Params, len(p)+1)
	for k, v := range p {
		out[k] = v
	}
	return out
}

func sentOf(m tgbotapi.Message, err error) (delivery.Sent, error) {
	if err != nil {
		return delivery.Sent{}, err
	}
	return delivery.Sent{MessageID: m.MessageID, Caption: true}, nil
}

// fileIDOf returns the file_id to send again: the largest size of a photo.
func fileIDOf(m tgbotapi.Message, kind string) string {
	if kind == kindDocument {
		if m.Document != nil {
			return m.Document.FileID
		}
		return ""
	}
	if len(m.Photo) == 0 {
		return ""
	}
	return m.Photo[len(m.Photo)-1].FileID
}

// tooLong reports whether Telegram would refuse an image as a photo (or
// shrink it past reading): width + height over 10000, or one side more
// than 20 times the other.
func tooLong(w, h int) bool {
	return w+h > 10000 || max(w, h) > 20*min(w, h)
}

func dimensions(data []byte) (w, h int, err error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return 0, 0, err
	}
	return cfg.Width, cfg.Height, nil
}

// fileName names an upload after the site and the article, in ASCII: the
// image's own name may be Arabic, which some clients garble.
func fileName(a nashra.Article, data []byte) string {
	ext := ".jpg"
	switch http.DetectContentType(data) {
	case "image/png":
		ext = ".png"
	case "image/gif":
		ext = ".gif"
	case "image/webp":
		ext = ".webp"
	}
	return "almaalouma-" + strconv.FormatInt(a.ID, 10) + ext
}

// encodeURL percent-encodes what a URL should not carry raw — non-ASCII
// file names above all, which Telegram's fetcher rejects.
func encodeURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		raw = u.String()
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c >= 0x80 || c == ' ' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// imageFetcher downloads article images with bounded size and time.
type imageFetcher struct {
	client *http.Client
	limit  int64
}

var errTooBig = errors.New("image larger than the upload limit")

// download fetches a whole image.
func (f *imageFetcher) download(ctx context.Context, src string) ([]byte, error) {
	return f.get(ctx, src, 0)
}

// dimensions reads the start of an image to learn its size.
func (f *imageFetcher) dimensions(ctx context.Context, src string) (w, h int, err error) {
	data, err := f.get(ctx, src, probeBytes)
	if err != nil {
		return 0, 0, err
	}
	return dimensions(data)
}

// get fetches src, only its first part bytes when part > 0.
func (f *imageFetcher) get(ctx context.Context, src string, part int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, imageTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", imageUserAgent)
	req.Header.Set("Accept", "image/*")
	limit := f.limit
	if part > 0 {
		req.Header.Set("Range", "bytes=0-"+strconv.Itoa(part-1))
		limit = int64(part)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("image: HTTP %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "image/") && !strings.HasPrefix(ct, "application/octet-stream") {
		return nil, fmt.Errorf("image: content type %q", ct)
	}
	if part == 0 && resp.ContentLength > limit {
		return nil, errTooBig
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	if int64(len(data)) > limit {
		if part > 0 {
			return data[:limit], nil // a server that ignores Range
		}
		return nil, errTooBig
	}
	return data, nil
}

// Kinds of file a post can carry.
const (
	kindPhoto    = "photo"
	kindDocument = "document"
)

// fileCache remembers, per article, how its image was sent, for the rest of
// its fan-out. It holds the few latest articles only.
type fileCache struct {
	mu    sync.Mutex
	max   int
	m     map[int64]*fileEntry
	order []int64 // oldest first
}

type fileEntry struct {
	mu       sync.Mutex
	imageURL string
	kind     string
	fileID   string
	probed   bool
	broken   bool
}

func newFileCache(max int) *fileCache {
	return &fileCache{max: max, m: map[int64]*fileEntry{}}
}

// entry returns the article's entry, a fresh one when its image changed.
func (c *fileCache) entry(articleID int64, imageURL string) *fileEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[articleID]; e != nil && e.imageURL == imageURL {
		return e
	}
	if _, known := c.m[articleID]; !known {
		c.order = append(c.order, articleID)
		if len(c.order) > c.max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
	}
	e := &fileEntry{imageURL: imageURL, kind: kindPhoto}
	c.m[articleID] = e
	return e
}
