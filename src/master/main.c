/*
 * main.c - command line of switchyard(8).  Parses options, then either
 * checks the configuration (-t), prints versions (-V), lists the key and
 * stat tables for the documentation check, or runs the master.
 */
#include <getopt.h>
#include <limits.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "switchyard/conf.h"
#include "switchyard/http1.h"
#include "switchyard/http2.h"
#include "switchyard/master.h"
#include "switchyard/stats.h"
#include "switchyard/tls.h"

#define MAIN_DEFAULT_CONF SY_SYSCONFDIR "/switchyard/switchyard.conf"

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: switchyard [-c file] [-t] [-f] [-X] [-V] [-h]\n"
	    "  -c file  configuration file (default " MAIN_DEFAULT_CONF ")\n"
	    "  -t       check the configuration and exit\n"
	    "  -f       stay in the foreground, log to stderr unless configured\n"
	    "  -X       one-process mode: one worker in the foreground, no fork\n"
	    "  -V       print version and library versions\n"
	    "  -h       this help\n");
}

static void
main_version(void)
{
	printf("switchyard %s\n", PACKAGE_VERSION);
	printf("llhttp %s\n", sy_h1_library_version());
	printf("nghttp2 %s\n", sy_h2_library_version());
	printf("openssl %s\n", sy_tls_library_version());
	printf("libconfig %d.%d.%d\n", LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR, LIBCONFIG_VER_REVISION);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "list-keys", no_argument, NULL, 'K' },
		{ "list-stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sy_master_opts o;
	bool test = false;
	int ch;

	memset(&o, 0, sizeof(o));
	o.conf_path = MAIN_DEFAULT_CONF;
	/* Every load (start, reload, -t) builds the TLS contexts too. */
	sy_conf_set_hooks(&sy_tls_conf_hooks);
	while ((ch = getopt_long(argc, argv, "c:tfXVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'f':
			o.foreground = true;
			break;
		case 'X':
			o.one_process = true;
			o.foreground = true;
			break;
		case 'V':
			main_version();
			return 0;
		case 'K':
			sy_conf_print_keys(stdout);
			return 0;
		case 'S':
			sy_stats_print_templates(stdout);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 2;
	}
	if (test) {
		struct sy_conf_errors errs;
		struct sy_conf *c;

		sy_conf_errors_init(&errs);
		c = sy_conf_load(o.conf_path, &errs);
		if (c == NULL) {
			sy_conf_errors_print(&errs, stderr);
			sy_conf_errors_fini(&errs);
			return 1;
		}
		sy_conf_errors_fini(&errs);
		sy_conf_free(c);
		printf("configuration ok\n");
		return 0;
	}
	/* A daemon changes directory to /: reloads need an absolute path. */
	{
		char *abs = realpath(o.conf_path, NULL);
		int rc;

		if (abs != NULL)
			o.conf_path = abs;
		rc = sy_master_run(&o);
		free(abs);
		return rc;
	}
}
