package main

import (
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

// child is a bot running as a process of its own, as in production, so
// that its CPU time and memory are its alone.
type child struct {
	name string
	cmd  *exec.Cmd
	proc proc
	log  string
	// metrics is the bot's /metrics URL; empty for the echo bot.
	metrics string
	done    chan struct{}
	err     error
}

// start runs bin with args and exactly env (plus PATH, HOME and TMPDIR,
// and the runtime's knobs when the harness has them, for experiments), its
// output going to logPath.
func start(name, bin string, args, env []string, logPath string) (*child, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOGC", "GOMEMLIMIT", "GODEBUG", "MALLOC_ARENA_MAX"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, proc: proc{pid: cmd.Process.Pid}, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// exited returns the process's end, if it has ended.
func (c *child) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// stop asks the process to end (SIGTERM, as a container stop does) and
// kills it if it has not within grace.
func (c *child) stop(grace time.Duration) error {
	if ended, err := c.exited(); ended {
		return fmt.Errorf("%s had already exited: %v", c.name, err)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %v and was killed", c.name, grace)
	}
}

// tail returns the last lines of the child's output, for an error report.
func (c *child) tail(n int) string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitReady polls url until it answers 200, the child exits or ctx ends.
func (c *child) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		if ended, err := c.exited(); ended {
			return fmt.Errorf("%s exited at start (%v):\n%s", c.name, err, c.tail(20))
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w\n%s", c.name, url, ctx.Err(), c.tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// buildBot builds cmd/hromadabot of the module the working directory is in.
func buildBot(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the hromadabot module: run from its checkout or pass -bot BINARY")
	}
	bin := filepath.Join(dir, "hromadabot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hromadabot")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hromadabot: %w\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}
