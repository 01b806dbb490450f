#include "model/cmds.h"
int cmd_curve(int argc, char **argv) { return 2; }
int cmd_curve_fit(int argc, char **argv) { return 2; }
