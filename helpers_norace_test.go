//go:build !race

// helpers_norace_test.go: raceOn, for the tests whose figures the race
// detector changes (see helpers_race_test.go).

package supervisor

const raceOn = false
