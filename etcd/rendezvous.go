// rendezvous.go: rendezvous (highest random weight) hashing. Each key goes
// to the member with the highest hash of (member, key); when a member
// leaves, only its keys move, and when one joins, it takes about 1/N of the
// keys, each from whichever member had it.

package etcd

import "hash/fnv"

// weight is the hash of (member, key), mixed so that close inputs spread.
func weight(member, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(member))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(key))
	x := h.Sum64()
	// splitmix64's finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// owner returns the member that key belongs to, or "" without members.
// Ties go to the smaller member ID.
func owner(key string, members []string) string {
	best, bw := "", uint64(0)
	for _, m := range members {
		w := weight(m, key)
		if best == "" || w > bw || (w == bw && m < best) {
			best, bw = m, w
		}
	}
	return best
}
