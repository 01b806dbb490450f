/* The `srvlab model` subcommands, dispatched by model.c. Each takes argv with argv[0] = its
 * name and returns the exit status: 0 ok, 1 run-time failure, 2 usage error. */
#ifndef SRVLAB_MODEL_CMDS_H
#define SRVLAB_MODEL_CMDS_H

int cmd_queue_capacity(int argc, char **argv); /* cmd_queue.c */
int cmd_queue_mm1(int argc, char **argv);
int cmd_queue_mmc(int argc, char **argv);
int cmd_queue_mg1(int argc, char **argv);
int cmd_queue_mgc(int argc, char **argv);
int cmd_queue_md1(int argc, char **argv);
int cmd_poisson(int argc, char **argv);     /* cmd_poisson.c */
int cmd_curve(int argc, char **argv);       /* cmd_curve.c */
int cmd_curve_fit(int argc, char **argv);

#endif
