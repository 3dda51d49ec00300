package s3test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"

	"trashd/reconcile"
)

// MotoVersion is the moto the tests are written against: its answers (which
// conditions it ignores, how it words an archived object's refusal) change
// between releases.
const MotoVersion = "5.2.1"

// motoInstall is what to run where moto is missing. Debian has no package
// of it; these machines come with it.
const motoInstall = "pip install 'moto[server]==" + MotoVersion + "'"

// Any keys pass: moto checks no signatures.
const (
	motoAccessKey = "trashd-moto"
	motoSecretKey = "trashd-moto-secret"
)

// StartMoto starts moto's S3 server (`python3 -m moto.server`, or the
// python in TRASHD_TEST_PYTHON) on a free port of 127.0.0.1 and returns
// once it answers. Each start is a fresh, empty moto. Restores progress
// the way moto does by default: a restored copy is ready at once. Stop it
// with Process.Stop.
func StartMoto(ctx context.Context) (*Process, error) {
	return startMoto(ctx, freePort)
}

func startMoto(ctx context.Context, ports func() (int, error)) (*Process, error) {
	python := cmp.Or(os.Getenv("TRASHD_TEST_PYTHON"), "python3")
	if err := checkMoto(ctx, python); err != nil {
		return nil, err
	}
	p, err := start(ctx, launch{
		name: "moto",
		argv: func(_ string, port int) []string {
			return []string{python, "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port)}
		},
		ready: motoReady,
	}, ports)
	if err != nil {
		return nil, err
	}
	p.Server.AccessKey, p.Server.SecretKey, p.Server.Region = motoAccessKey, motoSecretKey, Region
	p.Server.Features = []Feature{FeatureStorageClass, FeatureArchive, FeatureLifecycleConfig, FeatureVersioning}
	// moto 5.2.1 copies over an existing key despite If-None-Match: *,
	// copies a source whatever x-amz-copy-source-if-match names, and
	// deletes an object in DeleteObjects whatever its <ETag> names
	// (reporting it Deleted); it honours If-None-Match on
	// CompleteMultipartUpload and If-Match on DeleteObject.
	p.Server.Ignores = []reconcile.Condition{reconcile.CondCopyIfNoneMatch, reconcile.CondCopySourceIfMatch, reconcile.CondBatchDeleteETag}
	return p, nil
}

// checkMoto fails, saying what to install, unless python has moto's server
// (moto, Flask, Flask-Cors) at MotoVersion.
func checkMoto(ctx context.Context, python string) error {
	const script = `import importlib.metadata as md, moto.server, flask, flask_cors; print(md.version("moto"))`
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, python, "-c", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("moto %s is needed for the tests on moto, but %s cannot run its server (%v: %s): install it with %s (scripts/dev-up.sh checks it), "+
			"or set TRASHD_TEST_PYTHON to a python that has it", MotoVersion, python, err, lastLine(stderr.String()), motoInstall)
	}
	if got := strings.TrimSpace(string(out)); got != MotoVersion {
		return fmt.Errorf("%s has moto %s, the tests are written against moto %s: install it with %s, or set TRASHD_TEST_PYTHON to a python that has it",
			python, got, MotoVersion, motoInstall)
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// motoReady asks moto to reset itself: only moto answers 200 to that, and a
// fresh moto has nothing to lose.
func motoReady(ctx context.Context, endpoint string) error {
	return answers200(ctx, http.MethodPost, endpoint+"/moto-api/reset")
}
