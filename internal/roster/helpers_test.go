package roster_test

import (
	"slices"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func sortInts(s []int) []int { slices.Sort(s); return s }

func sortStrings(s []string) []string { slices.Sort(s); return s }
