package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidation(t *testing.T) {
	run := func(context.Context) error { return nil }
	specCases := map[string]struct {
		spec Spec
		opts []Option
		want string
	}{
		"nil Run":           {Spec{Name: "x"}, nil, "Run is nil"},
		"bad restart":       {Spec{Name: "x", Run: run, Restart: 7}, nil, "Restart 7"},
		"negative shutdown": {Spec{Name: "x", Run: run, Shutdown: -5}, nil, "Shutdown -5ns"},
		"negative watchdog": {Spec{Name: "x", Run: run, Watchdog: -1}, nil, "Watchdog -1ns"},
		"significant permanent": {Spec{Name: "x", Run: run, Significant: true}, []Option{WithAutoShutdown(AnySignificant)},
			"Significant is not allowed on a Permanent child"},
		"significant never": {Spec{Name: "x", Run: run, Significant: true, Restart: Transient}, nil, "WithAutoShutdown"},
	}
	for name, tc := range specCases {
		t.Run(name, func(t *testing.T) {
			_, err := New(append(tc.opts, WithChildren(tc.spec))...)
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "supervisor: "), err.Error())
			tr := mustNew(t, tc.opts...)
			_, err = tr.Add(tc.spec)
			require.ErrorIs(t, err, ErrInvalidSpec)
			assert.Contains(t, err.Error(), `child "x"`)
		})
	}
	optCases := map[string]struct {
		opts []Option
		want string
	}{
		"strategy":          {[]Option{WithStrategy(9)}, "unknown strategy 9"},
		"negative restarts": {[]Option{WithIntensity(-1, time.Second)}, "maxRestarts -1"},
		"zero period":       {[]Option{WithIntensity(1, 0)}, "period 0s"},
		"auto shutdown":     {[]Option{WithAutoShutdown(5)}, "unknown value 5"},
		"sofo auto":         {[]Option{WithStrategy(SimpleOneForOne), WithAutoShutdown(AnySignificant)}, "SimpleOneForOne"},
		"sofo children":     {[]Option{WithStrategy(SimpleOneForOne), WithChildren(Spec{Run: run})}, "SimpleOneForOne"},
		"max children":      {[]Option{WithMaxChildren(-1)}, "WithMaxChildren: -1"},
		"over max":          {[]Option{WithMaxChildren(1), WithChildren(Spec{Run: run}, Spec{Run: run})}, "WithMaxChildren(1)"},
		"backoff initial":   {[]Option{WithBackoff(0, time.Second)}, "initial 0s"},
		"backoff max":       {[]Option{WithBackoff(time.Second, time.Millisecond)}, "max 1ms"},
		"empty name":        {[]Option{WithName("")}, "name is empty"},
		"nil option":        {[]Option{nil}, "option 0 is nil"},
	}
	for name, tc := range optCases {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts...)
			require.ErrorIs(t, err, ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "supervisor: tree "), err.Error())
		})
	}
	_, err := New(WithChildren(Spec{Name: "a", Run: run}, Spec{Name: "a", Run: run}))
	assert.ErrorIs(t, err, ErrDuplicateChild)
}
