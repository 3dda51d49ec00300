package s3ops_test

import (
	"os"
	"testing"

	"trashd/s3ops/s3test"
)

// servers are this package's moto and versitygw, started by the first test
// that asks and stopped after the last.
var servers s3test.Servers

func TestMain(m *testing.M) { os.Exit(servers.Run(m)) }
