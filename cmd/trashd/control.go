package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"trashd/internal/service"
)

// listenControl listens on the control socket, mode 0660 so that operators
// in the service's group can trigger passes. A stale socket left by a crash
// is replaced; a live one means another trashd serve, which is an error.
func listenControl(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another trashd serve is listening on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket %s: remove the stale socket: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w (set TRASHD_CONTROL_SOCKET, or run under systemd with RuntimeDirectory=trashd)", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// controlClient calls the control API of the service listening on path.
type controlClient struct {
	path string
	http *http.Client
}

func newControlClient(path string) *controlClient {
	return &controlClient{path: path, http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", path)
			return conn, controlDialErr(path, err)
		},
	}}}
}

func (c *controlClient) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://trashd"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	var denied *socketDenied
	if errors.As(err, &denied) {
		return fmt.Errorf("cannot reach trashd serve: %w", denied)
	}
	if err != nil {
		return fmt.Errorf("cannot reach trashd serve at %s: %w (is the service running? is TRASHD_CONTROL_SOCKET right?)", c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("trashd serve answered %s: %s", resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

func (c *controlClient) trigger(ctx context.Context) (service.TriggerReply, error) {
	var out service.TriggerReply
	return out, c.do(ctx, http.MethodPost, "/run", &out)
}

// awaitPass is pass id once it has ended, or as it is after wait.
func (c *controlClient) awaitPass(ctx context.Context, id int64, wait time.Duration) (service.Pass, error) {
	var out service.Pass
	return out, c.do(ctx, http.MethodGet, "/runs/"+strconv.FormatInt(id, 10)+"?wait="+wait.String(), &out)
}

func (c *controlClient) status(ctx context.Context) (service.StatusReply, error) {
	var out service.StatusReply
	return out, c.do(ctx, http.MethodGet, "/status", &out)
}
