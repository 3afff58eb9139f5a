/*
 * aptvault.c - the front-end: `aptvault FAMILY VERB ...` execs
 * `aptvault-FAMILY VERB ...`, found next to this binary or in the libexec
 * directory (git style).  Global options before FAMILY are passed on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <limits.h>
#include "banned.h"

static const struct family {
	const char *name;
	const char *summary;
} families[] = {
	{ "repo", "local package repositories" },
	{ "package", "search and inspect packages across all resources" },
	{ "config", "show the effective configuration" },
	{ "snapshot", "immutable package lists: create, diff, merge, pull, filter, verify" },
	{ "publish", "signed distributions that apt reads" },
	{ "mirror", "mirrors of remote archives (not yet available)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: aptvault [GLOBAL-OPTIONS] FAMILY VERB [ARGS...]\n\n"
		"families:\n");
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		fprintf(f, "  %-10s %s\n", families[i].name, families[i].summary);
	fprintf(f, "  %-10s %s\n\n", "version", "print the version");
	fprintf(f, "Run 'aptvault FAMILY --help' for the verbs of a family, and\n"
		"'man aptvault' for the global options and exit codes.\n");
}

static int exec_family(const char *family, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/')))
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/aptvault-%s", self, family);
		if (access(path, X_OK) == 0) {
			execv(path, argv);
			fprintf(stderr, "aptvault: error: cannot run '%s': %s\n",
				path, strerror(errno));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/aptvault-%s", AV_LIBEXECDIR, family);
	if (access(path, X_OK) == 0) {
		execv(path, argv);
		fprintf(stderr, "aptvault: error: cannot run '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "aptvault: error: '%s' is not an aptvault command family; "
		"see 'aptvault --help'\n", family);
	return 2;
}

int main(int argc, char **argv)
{
	int i;

	/* Global options may precede the family; find the first word. */
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return fflush(stdout) ? 1 : 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("aptvault %s\n", AV_VERSION);
			return fflush(stdout) ? 1 : 0;
		}
		/* "--opt value" forms for the global options taking a value */
		if (!strchr(argv[i], '=') && i + 1 < argc &&
		    (!strcmp(argv[i] + (argv[i][1] == '-' ? 2 : 1), "root") ||
		     !strcmp(argv[i] + (argv[i][1] == '-' ? 2 : 1), "config") ||
		     !strcmp(argv[i] + (argv[i][1] == '-' ? 2 : 1), "lock-timeout")))
			i++;
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "version")) {
		printf("aptvault %s\n", AV_VERSION);
		return fflush(stdout) ? 1 : 0;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	{
		/* argv for the family: aptvault-FAMILY [globals...] VERB ... */
		char **nargv = calloc((size_t)argc + 1, sizeof(*nargv));
		int k = 0;
		if (!nargv)
			return 1;
		nargv[k++] = argv[0];
		for (int j = 1; j < argc; j++)
			if (j != i)
				nargv[k++] = argv[j];
		nargv[k] = NULL;
		{
			int rc = exec_family(argv[i], nargv);	/* only on failure */
			free(nargv);
			return rc;
		}
	}
}
