//go:build !race

package webserver_test

const raceEnabled = false
