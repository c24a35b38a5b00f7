package telegramtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/gif" // decoders for the photo formats Telegram takes
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/url"
	"path"
	"strings"
)

// FileInfo describes a file the bot sent, uploaded or from a URL.
type FileInfo struct {
	// FileID is the document's file_id, or the file_id of the photo's
	// largest size. Every size's file_id can be sent again.
	FileID string
	// Kind is "photo" or "document".
	Kind     string
	Name     string
	MimeType string
	Size     int
	Width    int
	Height   int
	// SHA256 is the hex digest of the uploaded bytes; empty for a URL.
	SHA256 string
	// URL is the address the file was sent from, if any.
	URL string
}

type fileInfo struct {
	FileInfo
	uniqueID string
	sizes    []photoSize // a photo's sizes, smallest first
}

// The sizes Telegram makes of a photo: the longest side of each, as long as
// the photo is larger.
var photoBounds = []int{90, 320, 800, 1280, 2560}

const (
	maxPhotoBytes = 10 << 20
	// urlPhotoWidth and urlPhotoHeight are the size assumed for a photo
	// sent by URL, which the fake does not download.
	urlPhotoWidth, urlPhotoHeight = 1280, 720
)

// File returns what the fake knows of a file_id it handed out.
func (s *Server) File(fileID string) (FileInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok {
		return FileInfo{}, false
	}
	return f.FileInfo, true
}

// FailURL makes Telegram fail to fetch a URL sent as a photo or document.
// description is what follows "Bad Request: ", e.g. "wrong file
// identifier/HTTP URL specified"; empty means "failed to get HTTP URL
// content". The fake never downloads URLs: the others all succeed.
func (s *Server) FailURL(rawURL, description string) {
	if description == "" {
		description = "failed to get HTTP URL content"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badURLs[rawURL] = description
}

func sendPhoto(s *Server, req *request) (any, *apiError) {
	return sendMedia(s, req, "photo")
}

func sendDocument(s *Server, req *request) (any, *apiError) {
	return sendMedia(s, req, "document")
}

// sendMedia serves sendPhoto and sendDocument: the file comes as an upload,
// a file_id the fake handed out, or a URL.
func sendMedia(s *Server, req *request, kind string) (any, *apiError) {
	p, e := readSendParams(req)
	if e != nil {
		return nil, e
	}
	caption, e := parseCaption(req)
	if e != nil {
		return nil, e
	}
	up, ref := req.fileRef(kind)
	var uploaded *fileInfo
	switch {
	case up != nil:
		// Decoding happens before the lock is taken: it is the slow part.
		if uploaded, e = describeUpload(up, kind); e != nil {
			return nil, e
		}
	case ref == "":
		return nil, badRequest("there is no %s in the request", kind)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.target(p.chatID)
	if e != nil {
		return nil, e
	}
	f := uploaded
	if f == nil {
		if f, e = s.fileByRef(ref, kind); e != nil {
			return nil, e
		}
	}
	if f.FileID == "" {
		s.assignFileIDs(f)
	}
	msg := wireMessage{Caption: caption.plain, CaptionEntities: caption.entities}
	if kind == "photo" {
		msg.Photo = f.sizes
	} else {
		msg.Document = &wireDocument{FileID: f.FileID, FileUniqueID: f.uniqueID, FileName: f.Name, MimeType: f.MimeType, FileSize: f.Size}
	}
	m, e := s.deliver(c, "send"+title(kind), req, p, msg, caption.content(p.markup), f.FileID)
	if e != nil {
		return nil, e
	}
	s.remember(f)
	return m.msg, nil
}

// describeUpload checks an uploaded file as Telegram does (a photo must be
// an image of sane dimensions) and describes it.
func describeUpload(up *upload, kind string) (*fileInfo, *apiError) {
	if len(up.data) == 0 {
		return nil, badRequest("file must be non-empty")
	}
	sum := sha256.Sum256(up.data)
	f := &fileInfo{FileInfo: FileInfo{Kind: kind, Name: up.name, Size: len(up.data), SHA256: hex.EncodeToString(sum[:])}}
	if kind == "document" {
		f.MimeType = up.contentType
		if t := mime.TypeByExtension(path.Ext(up.name)); t != "" && (f.MimeType == "" || f.MimeType == "application/octet-stream") {
			f.MimeType = t
		}
		return f, nil
	}
	if len(up.data) > maxPhotoBytes {
		return nil, badRequest("PHOTO_SAVE_FILE_INVALID")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(up.data))
	if err != nil {
		return nil, badRequest("IMAGE_PROCESS_FAILED")
	}
	w, h := cfg.Width, cfg.Height
	if w == 0 || h == 0 || w+h > 10000 || max(w, h) > 20*min(w, h) {
		return nil, badRequest("PHOTO_INVALID_DIMENSIONS")
	}
	f.Width, f.Height = w, h
	return f, nil
}

// fileByRef resolves a file_id or a URL. A URL not seen before gives a new
// file, registered once the message is accepted. s.mu must be held.
func (s *Server) fileByRef(ref, kind string) (*fileInfo, *apiError) {
	if f := s.files[ref]; f != nil {
		if f.Kind != kind {
			return nil, badRequest("can't use file of type %s as %s", title(f.Kind), title(kind))
		}
		return f, nil
	}
	if !isURL(ref) {
		return nil, badRequest("wrong file identifier/HTTP URL specified")
	}
	if desc, bad := s.badURLs[ref]; bad {
		return nil, badRequest("%s", desc)
	}
	if f := s.urlFiles[kind+" "+ref]; f != nil {
		return f, nil // Telegram caches what it downloaded
	}
	f := &fileInfo{FileInfo: FileInfo{Kind: kind, URL: ref}}
	if kind == "photo" {
		f.Width, f.Height = urlPhotoWidth, urlPhotoHeight
		return f, nil
	}
	// By URL, Telegram only sends GIF, PDF and ZIP files as documents.
	u, _ := url.Parse(ref)
	f.Name = path.Base(u.Path)
	f.MimeType = mime.TypeByExtension(path.Ext(f.Name))
	switch path.Ext(strings.ToLower(f.Name)) {
	case ".gif", ".pdf", ".zip":
		return f, nil
	}
	return nil, badRequest("wrong type of the web page content")
}

// assignFileIDs gives a new file its file_ids (one per photo size).
// s.mu must be held.
func (s *Server) assignFileIDs(f *fileInfo) {
	if f.Kind == "document" {
		f.FileID, f.uniqueID = s.newFileID("BQACAgIAAxkBAAI")
		return
	}
	w, h := f.Width, f.Height
	for _, bound := range photoBounds {
		size := photoSize{Width: w, Height: h}
		if long := max(w, h); long > bound {
			size.Width, size.Height = max(1, w*bound/long), max(1, h*bound/long)
		}
		size.FileID, size.FileUniqueID = s.newFileID("AgACAgIAAxkBAAI")
		if f.Size > 0 {
			size.FileSize = max(1, f.Size*size.Width*size.Height/(w*h))
		}
		f.sizes = append(f.sizes, size)
		if size.Width == w && size.Height == h {
			break
		}
	}
	last := f.sizes[len(f.sizes)-1]
	f.FileID, f.uniqueID = last.FileID, last.FileUniqueID
}

// newFileID makes a file_id and file_unique_id shaped like Telegram's.
func (s *Server) newFileID(prefix string) (id, unique string) {
	s.fileSeq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", s.token, s.fileSeq))
	return prefix + base64.RawURLEncoding.EncodeToString(sum[:30]), "AQAD" + base64.RawURLEncoding.EncodeToString(sum[30:])
}

// remember registers a file sent in an accepted message, so its file_ids
// can be sent again. s.mu must be held.
func (s *Server) remember(f *fileInfo) {
	if f.URL != "" {
		s.urlFiles[f.Kind+" "+f.URL] = f
	}
	s.files[f.FileID] = f
	for _, size := range f.sizes {
		s.files[size.FileID] = f
	}
}

func title(kind string) string { return strings.ToUpper(kind[:1]) + kind[1:] }
