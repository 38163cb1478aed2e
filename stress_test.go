package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky is a child that runs for a random short while and then returns nil,
// an error or panics, unless cancelled first; it sometimes calls Ready late
// and sometimes sends heartbeats.
func flaky(seed uint64, starts *atomic.Int64) func(context.Context) error {
	return func(ctx context.Context) error {
		starts.Add(1)
		r := rand.New(rand.NewPCG(seed, uint64(starts.Load())))
		Ready(ctx)
		Heartbeat(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(r.IntN(3000)) * time.Microsecond):
		}
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			panic("flaky panic")
		case 2:
			return context.Canceled
		default:
			return errBoom
		}
	}
}

func TestStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	for _, s := range []Strategy{OneForOne, OneForAll, RestForOne, SimpleOneForOne} {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			var starts atomic.Int64
			restarts := []Restart{Permanent, Transient, Temporary}
			spec := func(i int) Spec {
				return Spec{
					Name:      fmt.Sprintf("c%d", i),
					Run:       flaky(uint64(i), &starts),
					Restart:   restarts[i%3],
					WaitReady: i%4 == 0,
					Shutdown:  time.Minute, // they honour cancellation; only starvation could overrun

				}
			}
			opts := []Option{WithStrategy(s), WithIntensity(1_000_000, time.Second)}
			if s != SimpleOneForOne {
				var specs []Spec
				for i := 0; i < 12; i++ {
					specs = append(specs, spec(i))
				}
				opts = append(opts, WithChildren(specs...))
			}
			tr := mustNew(t, opts...)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- tr.Run(ctx) }()

			var wg sync.WaitGroup
			var calls atomic.Int64
			// Run for 400ms and at least 400 calls per caller, so that a loaded
			// machine still exercises the tree; never past 20s.
			deadline := time.Now().Add(400 * time.Millisecond)
			hardStop := time.Now().Add(20 * time.Second)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(w), 7))
					for n := 0; (n < 400 || time.Now().Before(deadline)) && time.Now().Before(hardStop); n++ {
						name := fmt.Sprintf("c%d", r.IntN(20))
						var err error
						switch r.IntN(7) {
						case 0:
							sp := spec(r.IntN(20))
							_, err = tr.Add(sp)
						case 1:
							err = tr.Terminate(name)
						case 2:
							err = tr.Restart(name)
						case 3:
							err = tr.Delete(name)
						case 4:
							kids := tr.Children()
							seen := map[string]bool{}
							for _, k := range kids {
								if seen[k.Name] {
									t.Errorf("duplicate child %q in Children", k.Name)
								}
								seen[k.Name] = true
							}
						case 5:
							if err := tr.checkInvariants(); err != nil {
								t.Errorf("invariant: %v", err)
							}
						default:
							c := tr.Count()
							if c.Active > c.Specs || c.Active < 0 {
								t.Errorf("bad counts %+v", c)
							}
						}
						calls.Add(1)
						if err != nil && !errors.Is(err, ErrUnknownChild) && !errors.Is(err, ErrDuplicateChild) &&
							!errors.Is(err, ErrStartFailed) && !errors.Is(err, ErrNotRunning) {
							t.Errorf("unexpected error: %v", err)
						}
					}
				}(w)
			}
			wg.Wait()
			cancel()
			select {
			case err := <-errc:
				require.NoError(t, err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return")
			}
			require.NoError(t, tr.checkInvariants())
			c := tr.Count()
			assert.Zero(t, c.Active)
			for _, k := range tr.Children() {
				assert.Equal(t, Stopped, k.State)
			}
			t.Logf("%d API calls, %d child starts", calls.Load(), starts.Load())
			assert.Greater(t, starts.Load(), int64(0))
		})
	}
}
