//go:build unix

package site

import (
	"fmt"
	"syscall"
)

// mapMemory returns n bytes of memory outside the Go heap, which the
// collector neither scans nor counts towards its goal. Its pages become
// resident only as they are written.
func mapMemory(n int) ([]byte, error) {
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("site: map %d bytes for the answers kept: %w", n, err)
	}
	return mem, nil
}

// unmapMemory gives back what mapMemory returned.
func unmapMemory(mem []byte) { _ = syscall.Munmap(mem) }
