/* format.c - templates and JSON for packages (see format.h). */
#include <stdio.h>
#include <strings.h>
#include "aptvault/format.h"
#include "internal.h"

static int put_field(av_buf *out, const av_pkg *p, const char *name, size_t len)
{
	char field[128];
	const char *v;

	if (len >= sizeof(field))
		return av_error_set(AV_EINVALID, "template field name too long");
	memcpy(field, name, len);
	field[len] = '\0';
	if (!strcasecmp(field, "Key"))
		return av_pkg_key(out, p);
	if (!strcasecmp(field, "PackageType"))
		return av_buf_puts(out, av_pkg_type_str(p->type));
	v = av_stanza_get(p->stanza, field);
	return v ? av_buf_puts(out, v) : 0;
}

int av_pkg_format(av_buf *out, const av_pkg *p, const char *tmpl)
{
	int rc = 0;

	for (const char *s = tmpl; *s && !rc; s++) {
		if (s[0] == '\\' && (s[1] == 'n' || s[1] == 't')) {
			rc = av_buf_putc(out, s[1] == 'n' ? '\n' : '\t');
			s++;
		} else if (s[0] == '{' && s[1] == '{') {
			const char *end = strstr(s, "}}");
			const char *name = s + 2;
			if (!end)
				return av_error_set(AV_EINVALID, "template '%s': '{{' without '}}'",
						    tmpl);
			while (*name == ' ')
				name++;
			if (*name == '.')
				name++;
			size_t len = (size_t)(end - name);
			while (len && name[len - 1] == ' ')
				len--;
			rc = put_field(out, p, name, len);
			s = end + 1;
		} else {
			rc = av_buf_putc(out, *s);
		}
	}
	return rc;
}

cJSON *av_pkg_json(const av_pkg *p)
{
	cJSON *o = cJSON_CreateObject();
	av_buf key = AV_BUF_INIT;

	if (!o || av_pkg_key(&key, p)) {
		cJSON_Delete(o);
		av_buf_dispose(&key);
		return NULL;
	}
	cJSON_AddStringToObject(o, "Key", key.ptr);
	cJSON_AddStringToObject(o, "PackageType", av_pkg_type_str(p->type));
	av_buf_dispose(&key);
	for (size_t i = 0; i < p->stanza->count; i++) {
		const av_field *f = &p->stanza->fields[i];
		if (!strncasecmp(f->name, "Aptvault-", 9))
			continue;
		cJSON_AddStringToObject(o, f->name, f->value[0] == '\n' ? f->value + 1 :
					f->value);
	}
	return o;
}
