package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is an S3 server that a test package started for itself (moto,
// versitygw): Server says how to reach it. Stop it when the package's tests
// end; Servers does.
type Process struct {
	Server Server

	cmd    *exec.Cmd
	dir    string // the process's own temporary directory: its log, its data
	log    string
	exited chan struct{} // closed once the process has exited
}

// launch says how to run one kind of server on a given port.
type launch struct {
	name string
	// prepare, when set, readies the process's own temporary directory
	// before each start.
	prepare func(dir string) error
	// argv is the command line that serves S3 on 127.0.0.1:port; dir is
	// the process's own temporary directory.
	argv func(dir string, port int) []string
	// ready returns nil once the server on endpoint answers as this kind
	// of server does (any process could have answered a bare connect).
	ready func(ctx context.Context, endpoint string) error
}

// portTries bounds the retries when the port picked was taken before the
// server could bind it.
const portTries = 5

// errPortTaken: another process holds the port the server was given.
var errPortTaken = errors.New("port taken by another process")

// start runs l on a port that ports picks (freePort outside tests) and
// returns once it answers as itself, on another port if that one turns out
// to be taken. Its Server has only Name and Endpoint set.
func start(ctx context.Context, l launch, ports func() (int, error)) (*Process, error) {
	var taken []string
	for range portTries {
		port, err := ports()
		if err != nil {
			return nil, fmt.Errorf("pick a port for %s: %w", l.name, err)
		}
		p, err := spawn(l, port)
		if err != nil {
			return nil, err
		}
		err = p.waitReady(ctx, l, port)
		if err == nil {
			return p, nil
		}
		if stopErr := p.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
		taken = append(taken, err.Error())
	}
	return nil, fmt.Errorf("start %s: %d ports in a row were taken by other processes: %s", l.name, portTries, strings.Join(taken, "; "))
}

// freePort returns a port on 127.0.0.1 that nothing listened on a moment
// ago. moto cannot be given port 0 and say which port it took, so the port
// is picked here and may be taken by someone else before the server binds
// it: start notices and tries another.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func spawn(l launch, port int) (*Process, error) {
	dir, err := os.MkdirTemp("", "trashd-"+l.name+"-")
	if err != nil {
		return nil, fmt.Errorf("make a directory for %s: %w", l.name, err)
	}
	p := &Process{
		Server: Server{Name: l.name, Endpoint: "http://127.0.0.1:" + strconv.Itoa(port)},
		dir:    dir,
		log:    filepath.Join(dir, l.name+".log"),
		exited: make(chan struct{}),
	}
	if l.prepare != nil {
		if err := l.prepare(dir); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("prepare the directory of %s: %w", l.name, err)
		}
	}
	out, err := os.Create(p.log)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("create the log of %s: %w", l.name, err)
	}
	defer out.Close() // the child has its own copy
	argv := l.argv(dir, port)
	// Not exec.CommandContext: the server outlives the test that happened
	// to start it, until the package's tests end.
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", l.name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// readyPoll is how often a starting server is asked whether it answers: there
// is nothing to wait on but its answer.
const readyPoll = 50 * time.Millisecond

// waitReady returns nil once the server answers as itself on port from
// this very process, errPortTaken when another process holds the port.
func (p *Process) waitReady(ctx context.Context, l launch, port int) error {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		select {
		case <-p.exited:
			tail := p.logTail()
			// moto: "[Errno 98] Address already in use"; versitygw:
			// "bind: address already in use".
			if strings.Contains(strings.ToLower(tail), "address already in use") {
				return fmt.Errorf("%s on port %d: %w", l.name, port, errPortTaken)
			}
			return fmt.Errorf("%s exited before it answered on port %d (%v); its log ends:\n%s", l.name, port, p.cmd.ProcessState, tail)
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on port %d: %w; its log ends:\n%s", l.name, port, ctx.Err(), p.logTail())
		case <-tick.C:
		}
		if l.ready(ctx, p.Server.Endpoint) != nil {
			continue
		}
		// What answered may be another process that took the port between
		// freePort and our server's bind; our server then fails to bind,
		// but perhaps only after this answer.
		ours, err := listensOn(p.cmd.Process.Pid, port)
		if err != nil {
			return fmt.Errorf("check who listens on port %d for %s: %w", port, l.name, err)
		}
		if !ours {
			return fmt.Errorf("%s on port %d: another process answers there: %w", l.name, port, errPortTaken)
		}
		return nil
	}
}

// answers200 returns nil when a request without a body to url is answered
// 200 within a moment.
func answers200(ctx context.Context, method, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return nil
}

// logTail returns the last few KiB of the process's output.
func (p *Process) logTail() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.log, err)
	}
	const keep = 4 << 10
	if len(b) > keep {
		b = b[len(b)-keep:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimRight(string(b), "\n")
}

// stopWait is how long a server may take to exit on SIGTERM before it is
// killed.
const stopWait = 10 * time.Second

// Stop ends the server (SIGTERM, SIGKILL if it has not exited within
// 10s), waits until it has exited and removes its directory. It may be
// called more than once.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
	default:
		// The whole process group: a server may have children.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopWait):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
		}
	}
	if err := os.RemoveAll(p.dir); err != nil {
		return fmt.Errorf("remove the directory of %s: %w", p.Server.Name, err)
	}
	return nil
}
