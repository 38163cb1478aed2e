package main

import (
	_ "github.com/arbor-go/supervisor"
	_ "github.com/thejerf/suture/v4"
)

func main() {}
