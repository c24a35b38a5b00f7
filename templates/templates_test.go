package templates

import (
	"io/fs"
	"strings"
	"testing"
)

// Every HTML layout reads right to left in Arabic.
func TestLayoutsAreRTL(t *testing.T) {
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		body, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		if strings.Contains(string(body), "<html") && !strings.Contains(string(body), `<html dir="rtl" lang="ar">`) {
			t.Errorf("%s: the layout lacks dir=\"rtl\" lang=\"ar\"", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTemplatesParse(t *testing.T) {
	for _, name := range []string{"digest.html", "confirm.html", "notice.html"} {
		if EmailHTML().Lookup(name) == nil {
			t.Errorf("no HTML mail %s", name)
		}
	}
	for _, name := range []string{"digest.txt", "confirm.txt", "notice.txt"} {
		if EmailText().Lookup(name) == nil {
			t.Errorf("no text mail %s", name)
		}
	}
	for _, name := range []string{"signup.html", "message.html", "confirm.html", "preferences.html", "unsubscribe.html", "archive.html"} {
		if p := WebPage(name); p == nil || p.Lookup("content") == nil {
			t.Errorf("no page %s", name)
		}
	}
	if WebPage("nope.html") != nil {
		t.Error("an unknown page was found")
	}
}
