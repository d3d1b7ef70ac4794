/*
 * master.h - the master process: loads the configuration, binds the
 * listeners, owns the stats segment and the admin socket, forks and
 * supervises the workers, and turns signals into reloads and shutdowns.
 * It never touches proxied traffic.
 */
#ifndef SWITCHYARD_MASTER_H
#define SWITCHYARD_MASTER_H

#include <stdbool.h>

struct sy_master_opts {
	const char *conf_path;
	bool foreground;	/* -f: no daemonizing, log to stderr by default */
	bool one_process;	/* -X: one worker in this process, no fork */
};

/* Run until shut down; returns the process exit status. */
int sy_master_run(const struct sy_master_opts *o);

#endif
