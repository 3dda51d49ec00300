package reconcile_test

import (
	"math"
	"testing"

	"trashd/reconcile"
)

func TestEstimateCost(t *testing.T) {
	t.Parallel()
	r := reconcile.EstimateCost([]reconcile.ClassUsage{
		{Class: "STANDARD", Objects: 10, Bytes: 1e9},
		{Class: "GLACIER", Objects: 1000, Bytes: 100e9, Young: 1000, YoungBytes: 100e9},
	}, reconcile.DefaultPrices)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-6 }
	std, gl := r.Lines[0], r.Lines[1]
	if !near(std.Monthly, 0.023) || std.Overhead != 0 || std.EarlyDeletion != 0 {
		t.Errorf("STANDARD line %+v", std)
	}
	// 100 GB at 0.0036, plus per object 8 KB at STANDARD and 32 KB at GLACIER.
	wantGlacier := 100*0.0036 + 1000*8192/1e9*0.023 + 1000*32768/1e9*0.0036
	if !near(gl.Monthly, wantGlacier) || gl.Overhead != 1000*40960 {
		t.Errorf("GLACIER line %+v, want monthly %f", gl, wantGlacier)
	}
	if !near(gl.AsStandard, 2.3) || !near(gl.EarlyDeletion, 100*0.0036*3) {
		t.Errorf("GLACIER as standard %f, early deletion %f", gl.AsStandard, gl.EarlyDeletion)
	}
	if !near(r.Savings, r.AsStandard-r.Monthly) || r.Savings <= 0 {
		t.Errorf("savings %f", r.Savings)
	}
}
