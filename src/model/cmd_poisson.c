#include "model/cmds.h"
int cmd_poisson(int argc, char **argv) { return 2; }
