// names.go: the text forms of the package's enums (ChildState, Restart,
// Strategy, TreeState): String, and MarshalText/UnmarshalText so that
// snapshots and events encode them as their names.

package supervisor

import (
	"errors"
	"strconv"
)

// MarshalText encodes the state as its name.
func (s ChildState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name that String returns.
func (s *ChildState) UnmarshalText(b []byte) error {
	return enumParse(stateNames[:], "child state", b, s)
}

// MarshalText encodes the restart type as its name.
func (r Restart) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a name that String returns.
func (r *Restart) UnmarshalText(b []byte) error {
	return enumParse(restartNames[:], "restart type", b, r)
}

// MarshalText encodes the strategy as its Erlang name.
func (s Strategy) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes a name that String returns.
func (s *Strategy) UnmarshalText(b []byte) error {
	return enumParse(strategyNames[:], "strategy", b, s)
}

func enumName(names []string, typ string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return typ + "(" + strconv.Itoa(i) + ")"
}

func enumParse[T ~uint8](names []string, what string, b []byte, out *T) error {
	for i, n := range names {
		if n == string(b) {
			*out = T(i)
			return nil
		}
	}
	return errors.New("supervisor: unknown " + what + " " + strconv.Quote(string(b)))
}
