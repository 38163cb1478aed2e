// Package status serves a supervision tree to operators: an HTML status page
// (and the same data as JSON) mountable like net/http/pprof, and Kubernetes
// style health endpoints, /livez and /readyz. It uses the standard library
// only.
//
//	mux := http.NewServeMux()
//	status.Mount(mux, root, status.WithRequired("app/db"))
//	// GET /debug/arbor/            the page (HTML; JSON with ?format=json
//	//                              or Accept: application/json)
//	// GET /livez, /readyz          200 "ok" or 503; ?verbose lists the checks
//
// # The page
//
// The page shows the tree as nested lists: per tree its strategy, state,
// restart intensity in use and uptime; per child its state (coloured), restart
// type, restarts, last error, time in its state and, for processes, the pid.
// It reloads itself (a meta refresh; no scripts, no external assets). Child
// names and errors are always escaped (html/template), and the page is served
// with a Content-Security-Policy that forbids scripts.
//
// A SimpleOneForOne tree may hold thousands of children, so the page shows it
// as counts by state and its most recent failures (children with an error,
// latest state change first). ?all=1 lists every child instead.
//
// The JSON form is the tree's supervisor.TreeSnapshot as the core encodes it
// (field names documented there), complete: it does not summarise pools.
//
// # Health
//
// /livez fails (503) when the root tree's loop does not answer a snapshot
// within the timeout (WithTimeout), or when a subtree's loop does not: a
// wedged loop. A stopped tree answers at once and is live: whether the
// process should exit is for its main function to decide.
//
// /readyz fails unless the root answers, its initial start is done and it is
// running (not starting, stopping, stopped or gave up), and every child marked
// required with WithRequired is running (a required subtree must itself be
// running). Both follow Kubernetes' conventions: 200 with body "ok", or 503;
// ?verbose lists every check as "[+]name ok" or "[-]name failed: reason";
// ?exclude=name skips a check.
package status
