// strategy.go: restart strategies and auto shutdown as pure policies: which
// children a failure restarts under each strategy, and when significant
// exits stop the tree. Nothing here touches the loop.

package supervisor

// Strategy says which children are restarted when one fails.
type Strategy uint8

const (
	// OneForOne restarts only the failed child.
	OneForOne Strategy = iota
	// OneForAll stops all other children in reverse start order, then starts
	// all of them in start order.
	OneForAll
	// RestForOne does the same as OneForAll for the failed child and every
	// child started after it.
	RestForOne
	// SimpleOneForOne holds only children added with Add while the tree runs,
	// of equal standing: restarted one by one, stopped all at once.
	SimpleOneForOne
)

var strategyNames = [...]string{"one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"}

// String returns the strategy's Erlang name.
func (s Strategy) String() string { return enumName(strategyNames[:], "Strategy", int(s)) }

// group reports whether a failure under s restarts more than the child.
func (s Strategy) group() bool { return s == OneForAll || s == RestForOne }

// AutoShutdown says when a tree stops itself because significant children
// exited.
type AutoShutdown uint8

const (
	// Never: significant children are not allowed.
	Never AutoShutdown = iota
	// AnySignificant: the tree stops when any significant child exits by
	// itself and is not restarted.
	AnySignificant
	// AllSignificant: the tree stops when a significant child exits by itself,
	// is not restarted, and no other significant child is left running.
	AllSignificant
)

var autoShutdownNames = [...]string{"never", "any_significant", "all_significant"}

// String returns the value's Erlang name.
func (a AutoShutdown) String() string {
	return enumName(autoShutdownNames[:], "AutoShutdown", int(a))
}

// affected returns, in start order, the children that a failure of c
// restarts under s: c alone, c and its successors, or everyone.
func (s Strategy) affected(head, c *child) []*child {
	switch s {
	case OneForAll:
		return from(head)
	case RestForOne:
		return from(c)
	default:
		return []*child{c}
	}
}

// stops reports whether a significant child's exit by itself, not followed
// by a restart, stops a tree whose auto shutdown is a, given how many
// significant children are left not stopped.
func (a AutoShutdown) stops(sigLeft int) bool {
	return a == AnySignificant || a == AllSignificant && sigLeft == 0
}
