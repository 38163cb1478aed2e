//go:build race

// helpers_race_test.go: raceOn, for the tests whose figures the race
// detector changes (it drops a quarter of what sync.Pool is given).

package supervisor

const raceOn = true
