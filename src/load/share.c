/* Even shares of a whole over parts: how -c, -n, -R and -t are split over threads and
 * processes. No I/O. */
#include "load/share.h"

uint64_t share_of(uint64_t total, uint64_t parts, uint64_t i) {
    return total / parts + (i < total % parts);
}

uint64_t share_start(uint64_t total, uint64_t parts, uint64_t i) {
    uint64_t extra = total % parts;
    return i * (total / parts) + (i < extra ? i : extra);
}

uint64_t share_sum(uint64_t total, uint64_t parts, uint64_t lo, uint64_t hi) {
    return share_start(total, parts, hi) - share_start(total, parts, lo);
}

uint64_t share_proc_conns(uint64_t conns, unsigned threads, unsigned procs, unsigned p) {
    uint64_t lo = share_start(threads, procs, p);
    return share_sum(conns, threads, lo, lo + share_of(threads, procs, p));
}

unsigned share_procs_needed(uint64_t conns, unsigned threads, uint64_t per_proc,
                            unsigned max_procs) {
    for (unsigned n = 1; n <= max_procs && n <= conns; n++) {
        unsigned total = threads > n ? threads : n;
        if (share_proc_conns(conns, total, n, 0) <= per_proc)
            return n;
    }
    return 0;
}
