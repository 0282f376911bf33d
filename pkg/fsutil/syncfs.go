package fsutil

import (
	"errors"
	"strconv"
	"strings"
)

// ErrNoSyncFS is OpenFSSyncer's answer where one call cannot flush a file system with its
// errors reported: another system than Linux, or Linux before 5.8.
var ErrNoSyncFS = errors.New("syncfs with error reporting is not available")

// kernelAtLeast reports whether a kernel release such as "6.1.0-18-amd64" or "5.8.0" is at
// least major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// leadingDigits is s up to its first character that is not a digit ("8" of "8-rc1").
func leadingDigits(s string) string {
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return s[:i]
	}
	return s
}
