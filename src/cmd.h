/* The subcommands' entry points, dispatched by main.c. Each returns the process exit status:
 * 0 success, 1 failure at run time, 2 usage error (bad option or value), 3 inconclusive. */
#ifndef SRVLAB_CMD_H
#define SRVLAB_CMD_H

#define SRVLAB_VERSION "0.1.0"

int serve_main(int argc, char **argv);   /* src/serve/serve.c */
int load_main(int argc, char **argv);    /* src/load/load.c */
int model_main(int argc, char **argv);   /* src/model/model.c */
int sweep_main(int argc, char **argv);   /* src/report/sweep.c */
int report_main(int argc, char **argv);  /* src/report/sweep.c */
int merge_main(int argc, char **argv);   /* src/load/load.c */
int compare_main(int argc, char **argv); /* src/load/load.c */

#endif
