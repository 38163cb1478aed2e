package prometheus_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arbor-go/supervisor"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that no test leaks a goroutine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scraper serves a real registry over HTTP and parses what it exposes.
type scraper struct {
	t   *testing.T
	url string
}

func newScraper(t *testing.T, c prom.Collector) *scraper {
	reg := prom.NewRegistry()
	require.NoError(t, reg.Register(c))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	t.Cleanup(srv.Close)
	return &scraper{t: t, url: srv.URL}
}

// scrape fetches the text exposition format and parses it.
func (s *scraper) scrape() map[string]*dto.MetricFamily {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	require.NoError(s.t, err)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	c.CloseIdleConnections()
	body, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	require.Equal(s.t, http.StatusOK, resp.StatusCode, string(body))
	require.True(s.t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), resp.Header.Get("Content-Type"))
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(s.t, err)
	return fams
}

// value returns the value of the series of family name with exactly these
// labels (a histogram's sample count), and whether it exists.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		ok := true
		for _, l := range m.Label {
			if want[l.GetName()] != l.GetValue() {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// labelValues lists the values of one label across a family's series.
func labelValues(fams map[string]*dto.MetricFamily, name, label string) []string {
	seen := map[string]bool{}
	var out []string
	if f := fams[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label && !seen[l.GetValue()] {
					seen[l.GetValue()] = true
					out = append(out, l.GetValue())
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// eventually scrapes until cond holds, failing after a deadline: events
// reach the hooks asynchronously.
func (s *scraper) eventually(what string, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams := s.scrape()
		if cond(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, f := range fams {
				_, _ = expfmt.MetricFamilyToText(&b, f)
			}
			s.t.Fatalf("never true: %s; last scrape:\n%s", what, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func is(name string, want float64, labels ...string) func(map[string]*dto.MetricFamily) bool {
	return func(f map[string]*dto.MetricFamily) bool {
		v, ok := value(f, name, labels...)
		return ok && v == want
	}
}

func mustNew(t *testing.T, opts ...supervisor.Option) *supervisor.Tree {
	t.Helper()
	tr, err := supervisor.New(opts...)
	require.NoError(t, err)
	return tr
}

// startTree runs tr until the returned stop is called (or the test ends).
func startTree(t *testing.T, tr *supervisor.Tree) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := tr.Start(ctx)
	var err error
	stopped := false
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case err = <-errc:
			case <-time.After(20 * time.Second):
				t.Fatal("tree did not stop")
			}
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
