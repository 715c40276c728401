//go:build linux && cgo

package main

/*
#include <malloc.h>

// limitArenas caps glibc's malloc arenas; other C libraries have no such
// setting and keep their own behaviour.
static void limitArenas(int n) {
#ifdef M_ARENA_MAX
	mallopt(M_ARENA_MAX, n);
#endif
}
*/
import "C"

// mallocArenas is how many arenas glibc's malloc may keep for SQLite's
// memory. By default it makes one per thread that calls into C, up to eight
// per core, and the Go runtime runs SQLite calls on many threads: with 10,000
// dialogs open that cost 6–8 MiB of resident memory for no measurable speed.
const mallocArenas = 2

func init() { C.limitArenas(mallocArenas) }
