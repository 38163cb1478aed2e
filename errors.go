// errors.go: the sentinel errors of the package and the typed errors that
// carry them. Every error the package returns matches one sentinel with
// errors.Is and, where a child's own error is involved, that error too.

package supervisor

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// Sentinel errors. Match them with errors.Is; the errors actually returned
// carry the tree and child names in their messages.
var (
	// ErrTooManyRestarts is Run's error when the restart intensity is exceeded.
	ErrTooManyRestarts = errors.New("too many restarts")
	// ErrAlreadyRunning is returned by Run when the tree is already running.
	ErrAlreadyRunning = errors.New("tree already running")
	// ErrNotRunning is returned by Terminate and Restart on a tree that is not
	// running, and by Add on a SimpleOneForOne tree that is not running.
	ErrNotRunning = errors.New("tree not running")
	// ErrUnknownChild is returned when no child has the given name.
	ErrUnknownChild = errors.New("unknown child")
	// ErrDuplicateChild is returned by Add (and New) for a name already in use.
	ErrDuplicateChild = errors.New("duplicate child name")
	// ErrInvalidSpec is returned by New and Add for a Spec that cannot run.
	ErrInvalidSpec = errors.New("invalid child spec")
	// ErrInvalidOption is returned by New for an option or a combination of
	// options that is not allowed.
	ErrInvalidOption = errors.New("invalid option")
	// ErrMaxChildren is returned by Add when the tree holds WithMaxChildren
	// children already.
	ErrMaxChildren = errors.New("too many children")
	// ErrStartFailed is returned when a WaitReady child returned before it
	// called Ready.
	ErrStartFailed = errors.New("child failed to start")
	// ErrShutdownTimeout reports children that did not return within their
	// Shutdown and were abandoned.
	ErrShutdownTimeout = errors.New("shutdown timeout")
	// ErrWatchdogTimeout is the failure of a child that missed its Heartbeat.
	ErrWatchdogTimeout = errors.New("watchdog timeout")

	// ErrDoNotRestart, returned (or wrapped) by a child's Run, says "do not
	// restart me": whatever its restart type, the child stays Stopped (a
	// Temporary child, or one of a SimpleOneForOne tree, is removed), and the
	// exit counts nothing toward the restart intensity. Returned at once, it
	// is OTP's ignore: a child that declines to run keeps its spec, and the
	// Add or start that launched it succeeds.
	ErrDoNotRestart = errors.New("child asked not to be restarted")
	// ErrStopTree, returned (or wrapped) by a child's Run, stops the whole
	// tree: its children stop in reverse start order and Run returns the
	// child's error. A tree that is itself a child returns that error to its
	// parent, which stops too: the error climbs to the root unless a tree in
	// between wraps it in an error that does not match it.
	ErrStopTree = errors.New("child asked to stop the tree")
)

// ChildError is the error the tree reports about one child: the child failed
// to start (ErrStartFailed), missed its heartbeat (ErrWatchdogTimeout), made
// the tree give up (ErrTooManyRestarts), and so on. It matches Kind and the
// child's own error Err with errors.Is and errors.As.
type ChildError struct {
	Tree   string // name of the tree
	Child  string // name of the child
	Kind   error  // one of the package's sentinel errors
	Err    error  // the child's own error, if any
	Detail string // extra words for the message, if any
}

// Error implements error.
func (e *ChildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "supervisor: tree %q: child %q: %v", e.Tree, e.Child, e.Kind)
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel and the child's own error.
func (e *ChildError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// ShutdownTimeoutError names the children a tree abandoned because they did
// not return within their Shutdown. It matches ErrShutdownTimeout.
type ShutdownTimeoutError struct {
	Tree     string
	Children []string // in the order they were abandoned
}

// Error implements error.
func (e *ShutdownTimeoutError) Error() string {
	return fmt.Sprintf("supervisor: tree %q: %v: abandoned %s", e.Tree, ErrShutdownTimeout, quoteList(e.Children))
}

// Unwrap returns ErrShutdownTimeout.
func (e *ShutdownTimeoutError) Unwrap() error { return ErrShutdownTimeout }

// PanicError is the error of a child whose Run panicked.
type PanicError struct {
	Child string // name of the child
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack at the panic
	Tree  string // name of the tree
}

// Error implements error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("supervisor: tree %q: child %q panicked: %v", e.Tree, e.Child, e.Value)
}

// Unwrap returns the panic value when it is an error, so that errors.Is and
// errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

func newPanicError(tree, child string, v any) *PanicError {
	return &PanicError{Tree: tree, Child: child, Value: v, Stack: debug.Stack()}
}

// errGoexit is the kind of the error (a *ChildError) of a child whose Run
// called runtime.Goexit.
var errGoexit = errors.New("called runtime.Goexit")

func quoteList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// treeErr formats an error about the tree as a whole.
func treeErr(tree string, kind error, format string, args ...any) error {
	return fmt.Errorf("supervisor: tree %q: %w: %s", tree, kind, fmt.Sprintf(format, args...))
}

// childErr formats an error about one child that carries no child error.
func childErr(tree, child string, kind error, format string, args ...any) error {
	return &ChildError{Tree: tree, Child: child, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
