// replot.go: redraw the scaling plot from the per-round lines a -v run
// printed on stderr, without measuring again (a -million run takes minutes
// on a busy machine).

package main

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
)

// parseRounds reads the "  <contender> metric@n=value ..." lines of a -v
// log into results, one value per line, and returns the populations seen.
func parseRounds(r io.Reader) (results, []int, error) {
	res := results{}
	var sizes []int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !slices.Contains([]string{"arbor", "suture", "bare"}, f[0]) {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, nil, err
			}
			res.add(k, f[0], x)
			if m, n, ok := strings.Cut(k, "@"); ok && m == mSpawn {
				if p, err := strconv.Atoi(n); err == nil && !slices.Contains(sizes, p) {
					sizes = append(sizes, p)
				}
			}
		}
	}
	slices.Sort(sizes)
	return res, sizes, sc.Err()
}
