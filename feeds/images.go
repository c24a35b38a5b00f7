package feeds

import (
	"cmp"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"
)

// wpThumbnail matches the resized copies WordPress makes of an upload
// ("photo-150x150.jpg", "photo-300x200.webp").
var wpThumbnail = regexp.MustCompile(`-\d{2,4}x\d{2,4}\.(?i:jpe?g|png|gif|webp|avif)$`)

// leadImage picks the item's image at full size. Explicit media come
// first (media:content, image enclosures, the feed's own item image,
// media:thumbnail, each by decreasing size), then images in the content and
// the description. A WordPress thumbnail is taken only when nothing else
// exists; a YouTube video's own thumbnail beats it.
func leadImage(it *gofeed.Item, content, desc scanned, base *url.URL) string {
	var found []string
	add := func(raw string) {
		if u := resolveURL(raw, base); isWebURL(u) {
			found = append(found, u.String())
		}
	}
	media := it.Extensions["media"]
	for _, m := range mediaBySize(media, "content") {
		add(m)
	}
	for _, e := range it.Enclosures {
		if e != nil && strings.HasPrefix(e.Type, "image/") {
			add(e.URL)
		}
	}
	if it.Image != nil {
		add(it.Image.URL)
	}
	for _, m := range mediaBySize(media, "thumbnail") {
		add(m)
	}
	found = append(found, content.images...)
	found = append(found, desc.images...)

	for _, u := range found {
		if !isThumbnail(u) {
			return u
		}
	}
	if len(content.videos) > 0 {
		return youtubeThumb(content.videos[0])
	}
	if len(found) > 0 {
		return found[0]
	}
	return ""
}

// isThumbnail reports whether an image URL is a WordPress resized copy.
func isThumbnail(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && wpThumbnail.MatchString(u.Path)
}

// mediaBySize returns the image URLs of the media RSS elements called name,
// also inside media:group, the largest first.
func mediaBySize(media map[string][]ext.Extension, name string) []string {
	type sized struct {
		url  string
		w, h int
	}
	var all []sized
	var walk func(es []ext.Extension)
	walk = func(es []ext.Extension) {
		for _, e := range es {
			u := e.Attrs["url"]
			if u == "" || !isImageMedia(e, u) {
				continue
			}
			w, _ := strconv.Atoi(e.Attrs["width"])
			h, _ := strconv.Atoi(e.Attrs["height"])
			all = append(all, sized{u, w, h})
		}
	}
	walk(media[name])
	for _, g := range media["group"] {
		walk(g.Children[name])
	}
	slices.SortStableFunc(all, func(a, b sized) int {
		return cmp.Or(cmp.Compare(b.w, a.w), cmp.Compare(b.h, a.h))
	})
	urls := make([]string, len(all))
	for i, s := range all {
		urls[i] = s.url
	}
	return urls
}

// isImageMedia reports whether a media element is an image: by its medium
// or type, or, when it says neither, by the extension of its file.
func isImageMedia(e ext.Extension, u string) bool {
	medium, typ := e.Attrs["medium"], e.Attrs["type"]
	switch {
	case medium != "":
		return medium == "image"
	case typ != "":
		return strings.HasPrefix(typ, "image/")
	case e.Name == "thumbnail":
		return true
	}
	switch strings.ToLower(path.Ext(strings.SplitN(u, "?", 2)[0])) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif":
		return true
	}
	return false
}
