//go:build !unix

package site

// mapMemory returns n bytes for the answers kept; where there is no mmap
// they are on the Go heap.
func mapMemory(n int) ([]byte, error) { return make([]byte, n), nil }

func unmapMemory([]byte) {}
