//go:build !minimost_testhooks

package main

import "github.com/minimost/minimost/pkg/daemon"

// testHooks does nothing in a release build (see testhooks.go).
func testHooks(*daemon.Main) {}
