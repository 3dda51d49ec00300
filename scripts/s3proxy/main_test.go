package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"trashd/s3ops/s3test"
)

// started is a proxy run in this process in front of the real S3 server.
type started struct {
	url  string
	stop func() Counts // cancels run, as SIGTERM does, and reads what it printed
}

func start(t *testing.T, args ...string) started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-target", s3test.Endpoint()}, args...), w, io.Discard)
		w.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewReader(out)
	first, err := lines.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("proxy printed no address: %v", err)
	}
	stopped := false
	stop := func() Counts {
		t.Helper()
		stopped = true
		cancel()
		rest, err := io.ReadAll(lines)
		if err != nil {
			t.Fatalf("proxy output after stop: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		var c Counts
		if err := json.Unmarshal(rest, &c); err != nil {
			t.Fatalf("counts printed at stop: %v\n%s", err, rest)
		}
		return c
	}
	t.Cleanup(func() {
		if !stopped {
			cancel()
			_, _ = io.Copy(io.Discard, lines)
			<-done
		}
	})
	return started{url: strings.TrimSpace(first), stop: stop}
}

func getCounts(t *testing.T, url string) Counts {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var c Counts
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return c
}

// TestProxyCountsEachOperation: signed requests pass through the proxy to
// the real server, each counted once under its operation, failures also
// under errors; the counts path is answered, not forwarded, and not counted;
// a reset zeroes the counts; stopping prints them.
func TestProxyCountsEachOperation(t *testing.T) {
	t.Parallel()
	p := start(t)
	direct := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, direct, "s3proxy-counts")
	o := s3test.Options(t)
	o.Endpoint = p.url
	c := s3test.NewClient(t, o).S3()
	ctx := t.Context()

	s3test.PutObject(t, c, bucket, "a b+%.txt", []byte("x"))
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a b+%.txt")}); err != nil {
		t.Fatalf("HeadObject through the proxy: %v", err)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("absent")}); err == nil {
		t.Fatal("HeadObject of an absent key succeeded")
	}
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("copy"),
		CopySource: aws.String(bucket + "/a%20b%2B%25.txt")}); err != nil {
		t.Fatalf("CopyObject through the proxy: %v", err)
	}
	if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("copy")}}}}); err != nil {
		t.Fatalf("DeleteObjects through the proxy: %v", err)
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("a b+%.txt")}); err != nil {
		t.Fatalf("DeleteObject through the proxy: %v", err)
	}
	if _, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a b+%.txt")}); err == nil {
		t.Error("the object deleted through the proxy is still there")
	}

	want := map[string]int64{"PutObject": 1, "HeadObject": 2, "CopyObject": 1, "DeleteObjects": 1, "DeleteObject": 1}
	wantErrors := map[string]int64{"HeadObject": 1}
	got := getCounts(t, p.url+countsPath)
	if !maps.Equal(got.Requests, want) || got.Total != 6 || !maps.Equal(got.Errors, wantErrors) {
		t.Errorf("counts %+v, want total 6, requests %v, errors %v", got, want, wantErrors)
	}
	if again := getCounts(t, p.url+countsPath+"?reset=1"); again.Total != 6 {
		t.Errorf("reading the counts counted something: total %d, want 6", again.Total)
	}
	if after := getCounts(t, p.url+countsPath); after.Total != 0 || len(after.Requests) != 0 {
		t.Errorf("counts after a reset: %+v, want none", after)
	}

	s3test.PutObject(t, c, bucket, "last", []byte("y"))
	final := p.stop()
	if final.Total != 1 || final.Requests["PutObject"] != 1 {
		t.Errorf("counts printed at stop: %+v, want the one PutObject since the reset", final)
	}
}

// TestProxyDelaysEachRequest: every request forwarded waits at least the
// delay; the counts path does not.
func TestProxyDelaysEachRequest(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	p := start(t, "-delay", delay.String())
	direct := s3test.NewClient(t, s3test.Options(t)).S3()
	bucket := s3test.NewBucket(t, direct, "s3proxy-delay")
	s3test.PutObject(t, direct, bucket, "k", []byte("x"))
	o := s3test.Options(t)
	o.Endpoint = p.url
	o.RetryMaxAttempts = 1
	c := s3test.NewClient(t, o).S3()

	for i := range 3 {
		begin := time.Now()
		if _, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("k")}); err != nil {
			t.Fatalf("HeadObject %d: %v", i, err)
		}
		if took := time.Since(begin); took < delay {
			t.Errorf("HeadObject %d took %s through a proxy that adds %s", i, took, delay)
		}
	}
	begin := time.Now()
	got := getCounts(t, p.url+countsPath)
	if took := time.Since(begin); took >= delay {
		t.Errorf("the counts took %s: delayed like a request", took)
	}
	if got.Requests["HeadObject"] != 3 || got.Delay != delay.String() {
		t.Errorf("counts %+v, want 3 HeadObject and delay %s", got, delay)
	}
}

// TestListenSkipsGRPCPorts: a port 10000 above one something listens on
// (a SeaweedFS gRPC port) is refused.
func TestListenSkipsGRPCPorts(t *testing.T) {
	t.Parallel()
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if seaweedGRPCPorts[port] || listening("127.0.0.1", port-10000) {
		t.Errorf("listen took port %d, a gRPC port", port)
	}
	if _, err := listen("127.0.0.1"); !errors.As(err, new(usageError)) {
		t.Errorf("listen without a port: %v, want a usage error", err)
	}
	var buf bytes.Buffer
	if _, err := parseFlags([]string{"-delay", "-1s"}, &buf); !errors.As(err, new(usageError)) {
		t.Errorf("negative delay: %v, want a usage error", err)
	}
}
