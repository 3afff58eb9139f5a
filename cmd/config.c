/* config.c - `aptvault config`: the effective configuration. */
#include <stdio.h>
#include "cli.h"
#include "banned.h"

static int cmd_show(cli *c, int argc, char **argv)
{
	const av_config *cfg = cli_config(c);
	cJSON *doc;
	char *text;

	(void)argc;
	(void)argv;
	if (!cfg)
		return cli_exit_code(c);
	if (cli_json(c))
		return cli_print_json(c, cJSON_Duplicate(cfg->values, 1));
	if (!(doc = cJSON_Duplicate(cfg->values, 1)) || !(text = cJSON_Print(doc))) {
		cJSON_Delete(doc);
		return CLI_EXIT_FAIL;
	}
	printf("%s\n", text);
	if (!cli_quiet(c)) {
		printf("# read from:%s\n", cfg->nfiles ? "" : " (no files; defaults only)");
		for (size_t i = 0; i < cfg->nfiles; i++)
			printf("#   %s\n", cfg->files[i]);
	}
	cJSON_free(text);
	cJSON_Delete(doc);
	return 0;
}

static const cli_verb verbs[] = {
	{ "show", cmd_show, "", 0, 0, "print the effective configuration and its files",
	  NULL },
	{ NULL },
};

static const cli_family family = {
	"config", "The effective configuration (see aptvault.conf(5)).", verbs,
};

int main(int argc, char **argv)
{
	return cli_main(&family, argc, argv);
}
