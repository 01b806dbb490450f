/* Placeholder */
#include <stdio.h>
#include "cmd.h"
int serve_main(int argc, char **argv) { fprintf(stderr, "not yet\n"); return 2; }
