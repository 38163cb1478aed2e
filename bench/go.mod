module github.com/arbor-go/supervisor/bench

go 1.25

require (
	github.com/arbor-go/supervisor v0.0.0
	github.com/thejerf/suture/v4 v4.0.6
)

require go.uber.org/goleak v1.3.0

replace github.com/arbor-go/supervisor => ../
