package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"trashd/s3ops/s3test"
)

// trashdBin is the real binary, built once; process tests run it the way
// operators do.
var trashdBin string

// servers are this package's moto and versitygw, started by the first test
// that asks and stopped after the last.
var servers s3test.Servers

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trashd-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	trashdBin = filepath.Join(dir, "trashd")
	build := exec.Command("go", "build", "-race", "-o", trashdBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build trashd:", err)
		os.Exit(1)
	}
	code := servers.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished trashd process.
type result struct {
	code           int
	stdout, stderr string
}

// trashd runs the binary with exactly the given environment (plus PATH and HOME).
func trashd(t *testing.T, vars []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := command(ctx, vars, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run trashd %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func command(ctx context.Context, vars []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, trashdBin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, vars...)
	return cmd
}

// with returns vars with overrides appended (later entries win in exec).
func with(vars []string, overrides ...string) []string {
	return append(append([]string(nil), vars...), overrides...)
}
