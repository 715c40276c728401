package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go runs on; the kernel converts to it
// whatever its internal HZ.
const clockTick = 10 * time.Millisecond

// ParseProcStat reads the user and system CPU time out of the text of
// /proc/<pid>/stat. The second field (the command name) is in parentheses
// and may itself hold spaces and parentheses, so the fields are counted
// from the last ")".
func ParseProcStat(stat string) (user, sys time.Duration, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, errors.New("proc stat: no command name")
	}
	// After ")": state(3) ppid(4) ... utime(14) stime(15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: utime: %w", err)
	}
	s, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("proc stat: stime: %w", err)
	}
	return time.Duration(u) * clockTick, time.Duration(s) * clockTick, nil
}

// ParseProcStatus returns a field of /proc/<pid>/status given in kB, such
// as "VmRSS" or "VmHWM", in bytes.
func ParseProcStatus(status, field string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc status: %s: %w", field, err)
		}
		if unit != "kB" {
			return 0, fmt.Errorf("proc status: %s: unit %q, want kB", field, unit)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("proc status: no %s", field)
}

// proc reads one process's CPU time and memory from /proc.
type proc struct{ pid int }

// cpu is the process's user plus system CPU time so far, its threads
// (and waited-for children) included.
func (p proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	u, s, err := ParseProcStat(string(b))
	return u + s, err
}

// memory returns a /proc/<pid>/status field in bytes.
func (p proc) memory(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	return ParseProcStatus(string(b), field)
}

// resetPeak starts VmHWM over from the current RSS, so that each step's
// peak is its own. Older kernels refuse; the peak is then the process's.
func (p proc) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.pid), []byte("5"), 0) == nil
}

// cpuMeter turns CPU time read at two moments into cores used between them.
type cpuMeter struct {
	read  func() (time.Duration, error)
	cpu   time.Duration
	start time.Time
}

func newCPUMeter(read func() (time.Duration, error)) *cpuMeter {
	m := &cpuMeter{read: read}
	m.reset()
	return m
}

func (m *cpuMeter) reset() {
	m.cpu, _ = m.read()
	m.start = time.Now()
}

// cores is the average number of cores used since the last reset; -1 when
// the CPU time cannot be read.
func (m *cpuMeter) cores() float64 {
	cpu, err := m.read()
	wall := time.Since(m.start)
	if err != nil || wall <= 0 {
		return -1
	}
	return float64(cpu-m.cpu) / float64(wall)
}
