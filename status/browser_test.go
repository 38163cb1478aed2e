package status_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "write the browser test's screenshot to docs/status.png")

// browser runs Debian's chromium headless. Without it the test skips, unless
// CI=true: CI must install it (see .ci/run).
type browser struct {
	t   *testing.T
	bin string
	dir string // profile directory
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return &browser{t: t, bin: p, dir: t.TempDir()}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must install it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: `apt-get install -y chromium` to run the browser test")
	return nil
}

// run runs chromium with args and returns its standard output. The browser
// runs in its own process group, which is killed when it is done, so that
// no helper process outlives the test.
func (b *browser) run(args ...string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--disable-crash-reporter", "--hide-scrollbars", "--user-data-dir=" + filepath.Join(b.dir, "profile")}, args...)
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "HOME="+b.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	require.NoError(b.t, err, "chromium %v: %s", args, lastLines(errb.String(), 20))
	return out.Bytes()
}

// dom loads url and returns the DOM as the browser built it.
func (b *browser) dom(url string) string {
	b.t.Helper()
	return string(b.run("--dump-dom", url))
}

// screenshot saves a PNG of url at the given size and returns its path.
func (b *browser) screenshot(url string, w, h int) string {
	b.t.Helper()
	path := filepath.Join(b.dir, "shot.png")
	b.run(fmt.Sprintf("--window-size=%d,%d", w, h), "--screenshot="+path, url)
	return path
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// shop is the nested example tree of the browser test.
type shop struct {
	root, db, pool *supervisor.Tree
	payments       *ctl
}

func newShop(t *testing.T) *shop {
	s := &shop{payments: newCtl()}
	s.db = mustNew(t, supervisor.WithName("db"), supervisor.WithStrategy(supervisor.OneForAll), supervisor.WithChildren(
		supervisor.Spec{Name: "conn", Run: func(ctx context.Context) error {
			supervisor.ReportPID(ctx, os.Getpid()) // as package proc does for its process
			<-ctx.Done()
			return nil
		}},
		newCtl().spec("cache")))
	s.pool = mustNew(t, supervisor.WithName("workers"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(50, time.Minute), supervisor.WithBackoff(time.Hour, 2*time.Hour))
	s.root = mustNew(t, supervisor.WithName("shop"), supervisor.WithStrategy(supervisor.OneForOne),
		supervisor.WithIntensity(10, time.Minute), supervisor.WithBackoff(time.Hour, 2*time.Hour),
		supervisor.WithChildren(s.db.Spec(), s.pool.Spec(), newCtl().spec("http"), s.payments.spec("payments"),
			supervisor.Spec{Name: "migrate", Restart: supervisor.Transient, Run: func(context.Context) error { return nil }}))
	return s
}

// fill adds n workers to the pool, of which the first failing ones fail and
// wait in Restarting.
func (s *shop) fill(t *testing.T, n, failing int) {
	for i := range n {
		c := newCtl()
		name, err := s.pool.Add(c.spec(fmt.Sprintf("worker-%03d", i)))
		require.NoError(t, err)
		if i < failing {
			c.fail <- fmt.Errorf("job %d: upstream timeout", i)
			waitState(t, s.pool, name, supervisor.Restarting)
		}
	}
}

// wantRows checks that every child of the snapshot, in every subtree, is in
// the DOM with its state.
func wantRows(t *testing.T, dom string, s *supervisor.TreeSnapshot) int {
	t.Helper()
	n := 0
	for _, c := range s.Children {
		row := fmt.Sprintf(`data-child="%s" data-state="%s"`, c.Name, c.State)
		require.Contains(t, dom, row)
		n++
		if c.Tree != nil {
			require.Contains(t, dom, fmt.Sprintf(`data-tree="%s" data-tree-state="%s"`, c.Tree.Name, c.Tree.State))
			n += wantRows(t, dom, c.Tree)
		}
	}
	return n
}

// The page in a real browser: every child of a nested tree with its state;
// a child that fails shows as restarting at the next load (one refresh);
// the screenshot for the README.
func TestBrowserShowsTreeAndRestarts(t *testing.T) {
	b := newBrowser(t)
	s := newShop(t)
	startTree(t, s.root)
	s.fill(t, 200, 3)
	waitState(t, s.root, "migrate", supervisor.Stopped)
	var loads atomic.Int32
	page := status.Handler(s.root, status.WithRefresh(2*time.Second))
	url := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loads.Add(1)
		page.ServeHTTP(w, r)
	})) + "/debug/arbor/"

	dom := b.dom(url + "?all=1")
	snap, err := s.root.Snapshot(context.Background())
	require.NoError(t, err)
	require.Equal(t, 5+2+200, wantRows(t, dom, &snap)) // shop's, db's and the pool's children
	require.Contains(t, dom, `data-child="payments" data-state="running"`)
	require.Contains(t, dom, `<meta http-equiv="refresh" content="2">`)
	require.Contains(t, dom, fmt.Sprintf("pid %d", os.Getpid()))

	// payments fails and sits in Restarting through its backoff; the next
	// load (what the refresh does) shows it.
	s.payments.fail <- errors.New("payment gateway: connection refused")
	waitState(t, s.root, "payments", supervisor.Restarting)
	before := loads.Load()
	dom = b.dom(url)
	require.Greater(t, loads.Load(), before)
	require.Contains(t, dom, `data-child="payments" data-state="restarting"`)
	require.Contains(t, dom, "payment gateway: connection refused")
	// The pool is summarised: counts and its latest failures, not 200 rows.
	require.Contains(t, dom, `data-count="running">197 running`)
	require.Contains(t, dom, `data-count="restarting">3 restarting`)
	require.Contains(t, dom, "most recent failures (3 of 3)")
	require.NotContains(t, dom, `data-child="worker-150"`)

	shot := b.screenshot(url, 1000, 600)
	f, err := os.Open(shot)
	require.NoError(t, err)
	img, err := png.Decode(f)
	f.Close()
	require.NoError(t, err)
	require.Equal(t, 1000, img.Bounds().Dx())
	colours := map[uint32]bool{}
	for y := 0; y < img.Bounds().Dy(); y += 7 {
		for x := 0; x < img.Bounds().Dx(); x += 7 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	require.Greater(t, len(colours), 20, "the screenshot looks blank")
	if *update {
		data, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll("../docs", 0o755))
		require.NoError(t, os.WriteFile("../docs/status.png", data, 0o644))
	}
}

// In a real browser, markup in names and errors is text, never elements.
func TestBrowserEscapes(t *testing.T) {
	b := newBrowser(t)
	evil := newCtl()
	root := mustNew(t, supervisor.WithName("shop"), supervisor.WithBackoff(time.Hour, 2*time.Hour),
		supervisor.WithChildren(evil.spec("<script>alert(1)</script>"), newCtl().spec(`<img src=x onerror=alert(2)>`)))
	startTree(t, root)
	evil.fail <- errors.New(`<script>document.title="pwned"</script>`)
	waitState(t, root, "<script>alert(1)</script>", supervisor.Restarting)
	dom := b.dom(serve(t, status.Handler(root)) + "/")
	require.NotContains(t, strings.ToLower(dom), "<script")
	require.NotContains(t, strings.ToLower(dom), "<img")
	require.Contains(t, dom, "<title>arbor: shop</title>")
	require.Contains(t, dom, `&lt;script&gt;alert(1)&lt;/script&gt;`)
	require.Contains(t, dom, `&lt;script&gt;document.title="pwned"&lt;/script&gt;`)
}
