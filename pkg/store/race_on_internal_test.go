//go:build race

package store

// RaceEnabled is set when the tests run under the race detector, which makes them 5-10×
// slower: randomized tests then try fewer seeds (they try them all without it, in the same
// make test).
const RaceEnabled = true
