package credential

import "testing"

// BenchmarkVerifyPassword measures one sign-in's password check at the shipped cost
// (m=64 MiB, t=2, p=2), the figure docs/PERFORMANCE.md records.
func BenchmarkVerifyPassword(b *testing.B) {
	saved := Params
	Params = productionParams
	defer func() { Params = saved }()
	hash, err := HashPassword("sakura-no-hana-2026")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := VerifyPassword("sakura-no-hana-2026", hash); !ok || err != nil {
			b.Fatal("verify failed")
		}
	}
}
