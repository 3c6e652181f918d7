/* What the spawner (spawner.c) and the container init (init.c) share. */
#ifndef CORRAL_INIT_H
#define CORRAL_INIT_H

/* In the spawner: the socket to the agent. In an init: its sync channel to the spawner. */
#define SYNC_FD 3

/* Runs the container init with its arguments (argv[0] is a name); returns its exit code. */
int init_main(int argc, char **argv);

#endif
