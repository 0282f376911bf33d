//go:build !race

package store

// RaceEnabled: see race_on_internal_test.go.
const RaceEnabled = false
