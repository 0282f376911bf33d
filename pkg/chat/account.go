package chat

import (
	"strconv"
	"strings"
)

// Account is one account as the rules see it: an ID that is never given to another account,
// and the username it holds now. A username can be registered again after its account was
// deleted; the new account gets a new ID, so nothing addressed to or shared with the old
// account (direct conversations, private channels, sessions, live events, reset tokens)
// ever reaches the new one.
type Account struct {
	ID   string
	Name string
}

// IsZero reports whether a is no account (an anonymous caller).
func (a Account) IsZero() bool { return a.ID == "" }

// AccountID returns the ID of the generation-th account to hold name: the first holder's ID
// is the name itself, later holders get "name~2", "name~3" and so on. '~' can never be part
// of a username, so IDs of different names never collide.
func AccountID(name string, generation int) string {
	if generation <= 1 {
		return name
	}
	return name + "~" + strconv.Itoa(generation)
}

// SplitAccountID returns the username and generation of an account ID.
func SplitAccountID(id string) (name string, generation int, ok bool) {
	name, gen, found := strings.Cut(id, "~")
	if !found {
		return id, 1, id != ""
	}
	n, err := strconv.Atoi(gen)
	if err != nil || n < 2 || strconv.Itoa(n) != gen {
		return "", 0, false
	}
	return name, n, true
}

// ValidateAccountID reports whether id is a well-formed account ID (of a valid username or the
// system user).
func ValidateAccountID(id string) error {
	name, _, ok := SplitAccountID(id)
	if !ok {
		return Errorf(EInvalid, "malformed account id %q", id)
	}
	if name == SystemUser && id == SystemUser {
		return nil
	}
	return ValidateUsername(name)
}

// Directory is an immutable snapshot of the accounts that exist, indexed by ID and by name.
type Directory struct {
	all    []Account
	byID   map[string]Account
	byName map[string]Account
}

// NewDirectory indexes accounts (ordered by name by the caller).
func NewDirectory(accounts []Account) *Directory {
	d := &Directory{all: accounts, byID: make(map[string]Account, len(accounts)), byName: make(map[string]Account, len(accounts))}
	for _, a := range accounts {
		d.byID[a.ID] = a
		d.byName[a.Name] = a
	}
	return d
}

// All returns every account; the caller must not modify it.
func (d *Directory) All() []Account { return d.all }

// ByID returns the account with id, if it exists.
func (d *Directory) ByID(id string) (Account, bool) {
	a, ok := d.byID[id]
	return a, ok
}

// ByName returns the account that holds name now, if any.
func (d *Directory) ByName(name string) (Account, bool) {
	a, ok := d.byName[name]
	return a, ok
}

// Exists reports whether a is an account that exists now (same ID and name).
func (d *Directory) Exists(a Account) bool {
	b, ok := d.byID[a.ID]
	return ok && b.Name == a.Name
}
