//go:build race

package webserver_test

// raceEnabled is set under the race detector, whose instrumentation makes every stack frame
// larger.
const raceEnabled = true
