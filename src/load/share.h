/* Even shares of a whole (connections, -n requests, threads) over parts (threads, processes).
 * Pure arithmetic: no I/O. */
#ifndef SRVLAB_SHARE_H
#define SRVLAB_SHARE_H

#include <stdint.h>

/* Part i (0 <= i < parts) of `total`: total / parts, and one more for the first total % parts
 * parts, so the shares differ by at most one and add up to total. parts > 0. */
uint64_t share_of(uint64_t total, uint64_t parts, uint64_t i);

/* The sum of the shares of parts 0 .. i-1: where part i begins when the whole is laid out in
 * order (0 <= i <= parts). */
uint64_t share_start(uint64_t total, uint64_t parts, uint64_t i);

/* The sum of the shares of parts lo .. hi-1 (lo <= hi <= parts). */
uint64_t share_sum(uint64_t total, uint64_t parts, uint64_t lo, uint64_t hi);

/* --procs: `threads` load threads (threads >= procs) go to `procs` processes in order, process
 * p getting share_of(threads, procs, p) of them; thread k gets share_of(conns, threads, k)
 * connections. Returns the connections process p holds (process 0 holds the most). */
uint64_t share_proc_conns(uint64_t conns, unsigned threads, unsigned procs, unsigned p);

/* The fewest processes (at most max_procs) such that no process holds more than per_proc
 * connections, with max(threads, procs) threads in all. 0: none within max_procs. */
unsigned share_procs_needed(uint64_t conns, unsigned threads, uint64_t per_proc,
                            unsigned max_procs);

#endif
