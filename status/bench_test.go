package status_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	"github.com/arbor-go/supervisor/status"
)

// BenchmarkPage10kPool renders the page of a root with a 10,000-child
// SimpleOneForOne pool: summarised (the default), every row (?all=1), and
// as JSON. It reports the size of the answer.
func BenchmarkPage10kPool(b *testing.B) {
	pool, _ := supervisor.New(supervisor.WithName("pool"), supervisor.WithStrategy(supervisor.SimpleOneForOne),
		supervisor.WithIntensity(1000, time.Minute), supervisor.WithBackoff(time.Hour, 2*time.Hour))
	root, _ := supervisor.New(supervisor.WithName("root"), supervisor.WithChildren(pool.Spec()))
	ctx, cancel := context.WithCancel(context.Background())
	done := root.Start(ctx)
	defer func() { cancel(); <-done }()
	for i := range 10000 {
		fail := make(chan error, 1)
		if i%100 == 0 {
			fail <- fmt.Errorf("job %d failed", i)
		}
		_, err := pool.Add(supervisor.Spec{Run: func(ctx context.Context) error {
			select {
			case err := <-fail:
				return err
			case <-ctx.Done():
				return nil
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	h := status.Handler(root)
	for _, q := range []string{"", "?all=1", "?format=json"} {
		b.Run("query="+q, func(b *testing.B) {
			size := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+q, nil))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
