/* Placeholder until its issue lands. */
#include <stdio.h>
#include "cmd.h"
int model_main(int argc, char **argv) { fprintf(stderr, "srvlab: %s: not built yet\n", argv[0]); return 2; }
