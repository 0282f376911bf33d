// Package auth hashes and verifies passwords (argon2id, with a bound on concurrent hashing),
// signs session cookies with the data directory's secret.key, and rate-limits attempts.
package auth
