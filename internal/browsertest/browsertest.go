// Package browsertest starts the headless Chromium that tests drive
// nashra's pages with, and says where they keep their screenshots.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Start starts headless Chromium with a window of width × height and
// returns its context, closed when t ends. Without Chromium t is skipped,
// or fails when the variable CI is set.
func Start(t testing.TB, width, height int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is missing (CI is set, so this fails rather than skips): apt-get install chromium")
		}
		t.Skip("chromium is missing; install it to run this test: apt-get install chromium")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(browser); err != nil { // starts the browser, without a timeout
		t.Fatal(err)
	}
	return browser
}

// Artifacts is where screenshots go: $NASHRA_ARTIFACTS (.ci/run sets it
// to artifacts/), else a temporary folder.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NASHRA_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
