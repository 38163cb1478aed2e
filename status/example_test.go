package status_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
)

// Example mounts the page and the health endpoints next to an application's
// own handlers, and asks /readyz for its checks.
func Example() {
	db := supervisor.Spec{Name: "db", WaitReady: true, Run: func(ctx context.Context) error {
		supervisor.Ready(ctx)
		<-ctx.Done()
		return nil
	}}
	root, _ := supervisor.New(supervisor.WithName("app"), supervisor.WithChildren(db))
	ctx, cancel := context.WithCancel(context.Background())
	done := root.Start(ctx)

	mux := http.NewServeMux()
	status.Mount(mux, root, status.WithRequired("app/db"), status.WithTimeout(time.Second))
	srv := httptest.NewServer(mux)

	resp, _ := http.Get(srv.URL + "/readyz?verbose")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	fmt.Print(string(body))

	srv.Close()
	cancel()
	<-done
	// Output:
	// 200
	// [+]loop ok
	// [+]started ok
	// [+]restart-intensity ok
	// [+]required:app/db ok
	// readyz check passed
}
