// plot_test.go: tests of the scaling plot's SVG (plot.go).

package main

import (
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// svgNode is any element of the plot, with its children.
type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []svgNode  `xml:",any"`
}

func (n svgNode) walk(f func(svgNode)) {
	f(n)
	for _, c := range n.Children {
		c.walk(f)
	}
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestScalingPlotIsWellFormedWithOneLinePerContenderAndPanel(t *testing.T) {
	sizes := []int{1_000, 10_000, 100_000, 1_000_000}
	res := results{}
	for i, n := range sizes {
		for j, who := range []string{"arbor", "suture", "bare"} {
			res.add(key(mChurn, n), who, float64(1000*(j+1)+10*i))
			res.add(key(mSpawn, n), who, float64(500*(j+1)+10*i))
		}
	}
	out := scalingPlot(res, sizes)
	var root svgNode
	if err := xml.Unmarshal([]byte(out), &root); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, out)
	}
	if root.XMLName.Local != "svg" {
		t.Fatalf("root element %q, want svg", root.XMLName.Local)
	}
	lines, points, texts := map[string]int{}, 0, []string{}
	root.walk(func(n svgNode) {
		switch n.XMLName.Local {
		case "polyline":
			lines[n.attr("stroke")]++
			if got := len(strings.Fields(n.attr("points"))); got != len(sizes) {
				t.Errorf("polyline with %d points, want %d", got, len(sizes))
			}
		case "circle":
			if len(n.Children) > 0 { // data points carry a tooltip; legend markers do not
				points++
			}
		case "text":
			texts = append(texts, n.Text)
		}
	})
	for _, s := range plotSeries {
		if lines[s.colour] != 2 {
			t.Errorf("%s: %d lines, want one per panel (2)", s.who, lines[s.colour])
		}
	}
	if want := 2 * len(plotSeries) * len(sizes); points != want {
		t.Errorf("%d data points, want %d", points, want)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"arbor", "suture v4", "bare goroutines", "1k", "10k", "100k", "1M",
		"resident children (log scale)", "Add+Delete churn, per pair", "spawn, per child"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q in the plot", want)
		}
	}
}

func TestNiceStepRoundsUpToOneTwoOrFive(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{
		{0, 1}, {0.7, 1}, {1, 1}, {1.2, 2}, {3, 5}, {7, 10}, {130, 200}, {4100, 5000},
	} {
		if got := niceStep(c.in); got != c.want {
			t.Errorf("niceStep(%g) = %g, want %g", c.in, got, c.want)
		}
	}
}

func TestCountAndTickLabels(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{count(1_000), "1k"}, {count(100_000), "100k"}, {count(1_000_000), "1M"}, {count(100), "100"},
		{tick(0), "0"}, {tick(500), "500 ns"}, {tick(1500), "1.5 µs"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestParseRoundsReadsTheVerboseLines(t *testing.T) {
	log := "round 1 (load 1 1 1)\n  arbor   spawn@1000=3000 churn@1000=3500 spawn@1000000=4000\n" +
		"  bare    spawn@1000=1000 churn@1000=700\nround 2\n  arbor   spawn@1000=3100\n"
	res, sizes, err := parseRounds(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{1000, 1000000}) {
		t.Errorf("sizes %v", sizes)
	}
	if got := res[key(mSpawn, 1000)]["arbor"]; !slices.Equal(got, []float64{3000, 3100}) {
		t.Errorf("arbor spawn@1000: %v", got)
	}
	if got := res[key(mChurn, 1000)]["bare"]; !slices.Equal(got, []float64{700}) {
		t.Errorf("bare churn@1000: %v", got)
	}
}
