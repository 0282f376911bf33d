package store

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDGen makes 26-character, time-ordered message ids (48 bits of milliseconds, 80 random
// bits, Crockford base32). Ids made by one generator are strictly increasing.
type IDGen struct {
	mu    sync.Mutex
	lastT uint64
	hi    uint16
	lo    uint64
}

// New returns an id for time t.
func (g *IDGen) New(t time.Time) string {
	g.mu.Lock()
	ms := uint64(t.UnixMilli())
	if ms <= g.lastT {
		// Same (or earlier) millisecond: increment the random part to stay ordered.
		ms = g.lastT
		g.lo++
		if g.lo == 0 {
			g.hi++
		}
	} else {
		var b [10]byte
		rand.Read(b[:])
		g.hi = binary.BigEndian.Uint16(b[:2])
		g.lo = binary.BigEndian.Uint64(b[2:]) >> 1 // leave room to increment
		g.lastT = ms
	}
	hi, lo := g.hi, g.lo
	g.mu.Unlock()

	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], ms<<16|uint64(hi))
	binary.BigEndian.PutUint64(raw[8:16], lo)
	// raw[0:2] hold the top 16 bits of ms which are zero for the next ~8900 years; encode the
	// 128-bit value as 26 base32 digits.
	var out [26]byte
	var n [2]uint64
	n[0] = binary.BigEndian.Uint64(raw[0:8])
	n[1] = binary.BigEndian.Uint64(raw[8:16])
	for i := 25; i >= 0; i-- {
		d := n[1] & 31
		out[i] = crockford[d]
		n[1] = n[1]>>5 | n[0]<<59
		n[0] >>= 5
	}
	return string(out[:])
}

// IDAt returns the smallest id that a message sent at t can have; ids below it are older.
func IDAt(t time.Time) string {
	ms := uint64(t.UnixMilli())
	var n [2]uint64
	n[0] = ms << 16
	var out [26]byte
	for i := 25; i >= 0; i-- {
		d := n[1] & 31
		out[i] = crockford[d]
		n[1] = n[1]>>5 | n[0]<<59
		n[0] >>= 5
	}
	return string(out[:])
}
