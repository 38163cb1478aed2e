package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleTree is a root with a OneForAll subtree and a child that fails and
// then waits in Restarting through a long backoff.
type exampleTree struct {
	root, db       *supervisor.Tree
	flaky          *ctl
	conn, api, cch *ctl
}

func newExampleTree(t *testing.T) *exampleTree {
	e := &exampleTree{flaky: newCtl(), conn: newCtl(), api: newCtl(), cch: newCtl()}
	e.db = mustNew(t, supervisor.WithName("db"), supervisor.WithStrategy(supervisor.OneForAll),
		supervisor.WithChildren(e.conn.spec("conn"), e.cch.spec("cache")))
	e.root = mustNew(t, supervisor.WithName("app"), supervisor.WithIntensity(10, time.Minute),
		supervisor.WithBackoff(time.Hour, 2*time.Hour),
		supervisor.WithChildren(e.db.Spec(), e.api.spec("api"), e.flaky.spec("flaky")))
	return e
}

// The page shows every child of a nested tree with its state, as HTML and as JSON.
func TestPageShowsNestedTreeAsHTMLAndJSON(t *testing.T) {
	e := newExampleTree(t)
	startTree(t, e.root)
	e.flaky.fail <- errors.New("connection reset")
	waitState(t, e.root, "flaky", supervisor.Restarting)
	url := serve(t, status.Handler(e.root, status.WithRefresh(2*time.Second)))

	code, h, body := get(t, http.MethodGet, url+"/", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
	require.Contains(t, h.Get("Content-Security-Policy"), "default-src 'none'")
	require.Contains(t, body, `<meta http-equiv="refresh" content="2">`)
	for _, want := range []string{
		`data-child="app" data-tree="app" data-state="running"`,
		`data-child="db" data-state="running"`,
		`data-child="conn" data-state="running"`,
		`data-child="cache" data-state="running"`,
		`data-child="api" data-state="running"`,
		`data-child="flaky" data-state="restarting"`,
		`connection reset`,
		`data-tree="db" data-tree-state="running">tree running · one_for_all`,
	} {
		require.Contains(t, body, want)
	}

	for _, u := range []struct{ url, accept string }{{url + "/?format=json", ""}, {url + "/", "text/html;q=0.5, application/json"}} {
		code, h, body = get(t, http.MethodGet, u.url, u.accept)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "application/json", h.Get("Content-Type"))
		var s supervisor.TreeSnapshot
		require.NoError(t, json.Unmarshal([]byte(body), &s))
		require.Equal(t, "app", s.Name)
		require.Equal(t, supervisor.Restarting, s.Children[2].State)
		require.Equal(t, "connection reset", s.Children[2].Err)
		require.Equal(t, []string{"conn", "cache"}, []string{s.Children[0].Tree.Children[0].Name, s.Children[0].Tree.Children[1].Name})
	}
	// A browser's Accept header gets HTML.
	_, h, _ = get(t, http.MethodGet, url+"/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
}

// Child names, tree names and errors holding markup are escaped, never echoed.
func TestPageEscapesNamesAndErrors(t *testing.T) {
	evil := newCtl()
	name := "<script>alert(1)</script>"
	sub := mustNew(t, supervisor.WithName(`<img src=x onerror="alert(2)">`),
		supervisor.WithChildren(newCtl().spec(`"><b>bold</b>`)))
	root := mustNew(t, supervisor.WithName("<script>tree</script>"), supervisor.WithBackoff(time.Hour, 2*time.Hour),
		supervisor.WithChildren(evil.spec(name), sub.Spec()))
	startTree(t, root)
	evil.fail <- errors.New(`bad <script>alert("err")</script> & more`)
	waitState(t, root, name, supervisor.Restarting)
	url := serve(t, status.Handler(root))

	for _, q := range []string{"/", "/?all=1", "/?format=json"} {
		_, _, body := get(t, http.MethodGet, url+q, "")
		lower := strings.ToLower(body)
		require.NotContains(t, lower, "<script", q)
		require.NotContains(t, lower, "<img", q)
		require.NotContains(t, lower, "<b>", q)
		if q != "/?format=json" {
			require.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
			require.Contains(t, body, "bad &lt;script&gt;alert(&#34;err&#34;)&lt;/script&gt; &amp; more")
		}
	}
}

// Only GET and HEAD are allowed; an unknown format is a 400.
func TestPageMethodsAndFormats(t *testing.T) {
	tr := mustNew(t, supervisor.WithName("m"))
	url := serve(t, status.Handler(tr))
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		code, h, body := get(t, m, url+"/", "")
		require.Equal(t, http.StatusMethodNotAllowed, code, m)
		require.Equal(t, "GET, HEAD", h.Get("Allow"))
		require.Contains(t, body, "status: method")
	}
	code, h, body := get(t, http.MethodHead, url+"/", "")
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, body)
	require.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))

	code, _, body = get(t, http.MethodGet, url+"/?format=<xml>", "")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, `unknown format "<xml>"`)
	require.NotContains(t, body, "<xml>\n") // quoted, and served as text/plain
}

// A SimpleOneForOne pool is summarised: counts by state and its most recent
// failures, every row only with ?all=1.
func TestPageSummarisesPools(t *testing.T) {
	pool := mustNew(t, supervisor.WithName("pool"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(100, time.Minute), supervisor.WithBackoff(time.Hour, 2*time.Hour))
	startTree(t, pool)
	ctls := make([]*ctl, 60)
	for i := range ctls {
		ctls[i] = newCtl()
		_, err := pool.Add(ctls[i].spec(fmt.Sprintf("w%02d", i)))
		require.NoError(t, err)
	}
	for i := 0; i < 12; i++ {
		ctls[i].fail <- fmt.Errorf("failure %d", i)
		waitState(t, pool, fmt.Sprintf("w%02d", i), supervisor.Restarting)
	}
	url := serve(t, status.Handler(pool, status.WithRecentFailures(5)))

	_, _, body := get(t, http.MethodGet, url+"/", "")
	require.Contains(t, body, `60 children:`)
	require.Contains(t, body, `data-count="running">48 running`)
	require.Contains(t, body, `data-count="restarting">12 restarting`)
	require.Contains(t, body, "most recent failures (5 of 12)")
	require.Equal(t, 5, strings.Count(body, `class="child"`))
	for i := 7; i < 12; i++ { // the five latest failures, latest first
		require.Contains(t, body, fmt.Sprintf(`data-child="w%02d" data-state="restarting"`, i))
	}
	require.Less(t, strings.Index(body, `data-child="w11"`), strings.Index(body, `data-child="w07"`))
	require.NotContains(t, body, `data-child="w20"`)

	_, _, body = get(t, http.MethodGet, url+"/?all=1", "")
	require.Equal(t, 60, strings.Count(body, `class="child"`))
	require.Contains(t, body, `href="?all=0"`)
}

// A never-run tree, a stopped one and one that gave up answer at once with
// what is true.
func TestPageOnStoppedTrees(t *testing.T) {
	c := newCtl()
	tr := mustNew(t, supervisor.WithName("idle"), supervisor.WithIntensity(0, time.Minute), supervisor.WithChildren(c.spec("only")))
	url := serve(t, status.Handler(tr))
	_, _, body := get(t, http.MethodGet, url+"/", "")
	require.Contains(t, body, `data-tree="idle" data-state="stopped"`)
	require.Contains(t, body, `data-child="only" data-state="stopped"`)

	errc := tr.Start(context.Background())
	c.fail <- errBoom
	select {
	case err := <-errc:
		require.ErrorIs(t, err, supervisor.ErrTooManyRestarts)
	case <-time.After(10 * time.Second):
		t.Fatal("the tree did not give up")
	}
	_, _, body = get(t, http.MethodGet, url+"/", "")
	require.Contains(t, body, `data-tree="idle" data-state="gave_up"`)
	require.Contains(t, body, "too many restarts")
	_, _, body = get(t, http.MethodGet, url+"/?format=json", "")
	require.Contains(t, body, `"state": "gave_up"`)

	// A nil tree is a clear message, not a panic.
	var none *supervisor.Tree
	url = serve(t, status.Handler(none))
	code, _, body := get(t, http.MethodGet, url+"/", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "status: no tree to show")
}

// During shutdown the page says "stopping" and answers without waiting for
// the children.
func TestPageDuringShutdown(t *testing.T) {
	slow := newCtl()
	slow.release = make(chan struct{})
	tr := mustNew(t, supervisor.WithName("closing"), supervisor.WithChildren(slow.spec("slow")))
	stop := startTree(t, tr)
	done := make(chan error, 1)
	go func() { done <- stop() }()
	waitState(t, tr, "slow", supervisor.Stopping)
	mux := http.NewServeMux()
	status.Mount(mux, tr)
	url := serve(t, mux)

	_, _, body := get(t, http.MethodGet, url+"/debug/arbor/", "")
	assert.Contains(t, body, `data-tree="closing" data-state="stopping"`)
	assert.Contains(t, body, `data-child="slow" data-state="stopping"`)
	code, _, body := get(t, http.MethodGet, url+"/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, `[-]started failed: tree closing is stopping`)
	code, _, _ = get(t, http.MethodGet, url+"/livez", "")
	assert.Equal(t, http.StatusOK, code)

	close(slow.release)
	require.NoError(t, <-done)
}

// A loop that does not answer shows as unresponsive once the timeout passes.
func TestPageUnresponsiveTree(t *testing.T) {
	tr := mustNew(t, supervisor.WithName("stuck"))
	url := serve(t, status.Handler(wedged{tr}, status.WithTimeout(50*time.Millisecond)))
	start := time.Now()
	code, _, body := get(t, http.MethodGet, url+"/", "")
	require.Equal(t, http.StatusOK, code)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Contains(t, body, `data-state="unresponsive"`)
	require.Contains(t, body, context.DeadlineExceeded.Error())
}
