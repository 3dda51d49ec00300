package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"trashd/reconcile"
)

const (
	versityAccessKey = "trashd-versitygw"
	versitySecretKey = "trashd-versitygw-secret"
	// versityHealth cannot be a bucket's path: bucket names have no
	// underscore.
	versityHealth = "/_trashd_health"
)

// StartVersityGW starts versitygw with its posix backend in a temporary
// directory (buckets are directories there; versioning enabled through a
// versions directory beside it) on a free port of 127.0.0.1, and returns
// once it answers. The binary is TRASHD_TEST_VERSITYGW, or else what
// scripts/build-versitygw.sh prints (it builds it the first time, then
// takes it from its cache). Stop it with Process.Stop.
func StartVersityGW(ctx context.Context) (*Process, error) {
	return startVersityGW(ctx, freePort)
}

func startVersityGW(ctx context.Context, ports func() (int, error)) (*Process, error) {
	bin, err := versityBinary(ctx)
	if err != nil {
		return nil, err
	}
	p, err := start(ctx, launch{
		name: "versitygw",
		prepare: func(dir string) error {
			return errors.Join(os.Mkdir(filepath.Join(dir, "root"), 0o755), os.Mkdir(filepath.Join(dir, "versions"), 0o755))
		},
		argv: func(dir string, port int) []string {
			return []string{bin,
				"--port", fmt.Sprintf("127.0.0.1:%d", port),
				"--access", versityAccessKey, "--secret", versitySecretKey,
				"--region", Region, "--health", versityHealth, "--quiet",
				"posix", "--versioning-dir", filepath.Join(dir, "versions"), filepath.Join(dir, "root")}
		},
		ready: versityReady,
	}, ports)
	if err != nil {
		return nil, err
	}
	p.Server.AccessKey, p.Server.SecretKey, p.Server.Region = versityAccessKey, versitySecretKey, Region
	// The posix backend reports every object as STANDARD and answers
	// lifecycle configuration with NotImplemented.
	p.Server.Features = []Feature{FeatureVersioning}
	// versitygw v1.8.0 copies over an existing key despite If-None-Match:
	// *, and deletes an object in DeleteObjects whatever its <ETag> names
	// (its issue 2112); it honours If-None-Match on
	// CompleteMultipartUpload, x-amz-copy-source-if-match and If-Match on
	// DeleteObject.
	p.Server.Ignores = []reconcile.Condition{reconcile.CondCopyIfNoneMatch, reconcile.CondBatchDeleteETag}
	return p, nil
}

// versityBinary returns the versitygw to run.
func versityBinary(ctx context.Context) (string, error) {
	if bin := os.Getenv("TRASHD_TEST_VERSITYGW"); bin != "" {
		return bin, nil
	}
	script, err := findScript("build-versitygw.sh")
	if err != nil {
		return "", fmt.Errorf("find versitygw: TRASHD_TEST_VERSITYGW is unset (scripts/dev-up.sh writes it to .dev/env) and %w", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build versitygw with %s: %w: %s", script, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// findScript finds scripts/name in the module this test runs in, from the
// working directory up (go test runs a test in its package's directory).
func findScript(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		path := filepath.Join(dir, "scripts", name)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(path); err != nil {
				return "", fmt.Errorf("the module at %s has no scripts/%s: %w", dir, name, err)
			}
			return path, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory, so no scripts/" + name)
		}
		dir = parent
	}
}

// versityReady asks versitygw's health endpoint, which answers 200 without
// a signature.
func versityReady(ctx context.Context, endpoint string) error {
	return answers200(ctx, http.MethodGet, endpoint+versityHealth)
}
